/**
 * The ledger's verdict on made-up histories: what counts as owed, delivered, explicitly lost, a silent gap, a duplicate
 * and an inversion. No processes; the scenario in ledger.test.ts feeds the same class from real ones.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeProblems, Ledger, lossFromLostFrame, lossFromRecoveryFailed } from './support/ledger.js';

const E = 'e1';
const F = 'e2';

/** Publishes `count` accepted publications to `channel` at offsets `first`.. of `epoch`; returns their ids. */
function publish(ledger: Ledger, channel: string, epoch: string, first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `${channel}/${epoch}/${first + i}`;
    ledger.accept(ledger.attempt(id, channel, 'api-1'), { offset: first + i, epoch });
    return id;
  });
}

describe('ledger verdict', () => {
  test('everything after the subscribe position, delivered once and in order: clean', () => {
    const ledger = new Ledger();
    publish(ledger, 'c', E, 1, 2); // before the subscriber: not owed
    const record = ledger.record('s', 'c');
    ledger.subscribed(record, { offset: 2, epoch: E });
    const ids = publish(ledger, 'c', E, 3, 3);
    ids.forEach((id, i) => ledger.deliver(record, id, { offset: 3 + i, epoch: E }, false));
    const { counts, problems } = ledger.check();
    assert.deepEqual(problems, []);
    assert.equal(counts.publications, 5);
    assert.equal(counts.deliveries, 3);
    assert.equal(counts.silentGaps + counts.duplicates + counts.inversions + counts.conflicts, 0);
  });

  test('a missing offset without a signal is a silent gap, named by channel, position and publication', () => {
    const ledger = new Ledger();
    const record = ledger.record('sdk-1', 'c');
    ledger.subscribed(record, { offset: 0, epoch: E });
    const [a, , c] = publish(ledger, 'c', E, 1, 3);
    ledger.deliver(record, a!, { offset: 1, epoch: E }, false);
    ledger.deliver(record, c!, { offset: 3, epoch: E }, false);
    const report = ledger.check();
    assert.equal(report.counts.silentGaps, 1);
    assert.match(describeProblems(report), /first silent gap: sdk-1: c e1:2 \(c\/e1\/2 via api-1\) never delivered/);
  });

  test('a publication delivered twice is a duplicate; a lower offset after a higher one is an inversion', () => {
    const ledger = new Ledger();
    const record = ledger.record('raw-1', 'c');
    ledger.subscribed(record, { offset: 0, epoch: E });
    const [a, b, c] = publish(ledger, 'c', E, 1, 3);
    ledger.deliver(record, a!, { offset: 1, epoch: E }, false);
    ledger.deliver(record, c!, { offset: 3, epoch: E }, false);
    ledger.deliver(record, b!, { offset: 2, epoch: E }, false);
    ledger.deliver(record, c!, { offset: 3, epoch: E }, true);
    const { counts, problems } = ledger.check();
    assert.equal(counts.inversions, 1);
    assert.equal(counts.duplicates, 1);
    assert.equal(counts.silentGaps, 0);
    assert.match(problems.find((problem) => problem.kind === 'inversion')!.text, /c e1:2 \(c\/e1\/2\) arrived after e1:3/);
  });

  test('lost frames and recovered:false cover exactly what they name', () => {
    const ledger = new Ledger();
    const record = ledger.record('s', 'c');
    ledger.subscribed(record, { offset: 0, epoch: E });
    publish(ledger, 'c', E, 1, 6);
    ledger.lose(record, lossFromLostFrame({ epoch: E, from: 1, to: 2 }));
    ledger.lose(record, lossFromRecoveryFailed({ offset: 2, epoch: E }, { offset: 4, epoch: E }));
    assert.equal(ledger.check().counts.explicitlyLost, 4);
    assert.equal(ledger.check().counts.silentGaps, 2, 'offsets 5 and 6 are not covered');
    ledger.lose(record, lossFromLostFrame({ epoch: E, from: 5, to: null }));
    assert.equal(ledger.check().counts.silentGaps, 0);
  });

  test('across an epoch change, recovered:false covers the rest of the old epoch and the new one up to its position', () => {
    const ledger = new Ledger();
    const record = ledger.record('s', 'c');
    ledger.subscribed(record, { offset: 0, epoch: E });
    const [a] = publish(ledger, 'c', E, 1, 3);
    ledger.deliver(record, a!, { offset: 1, epoch: E }, false);
    const fresh = publish(ledger, 'c', F, 1, 4);
    ledger.lose(record, lossFromRecoveryFailed({ offset: 1, epoch: E }, { offset: 2, epoch: F }));
    ledger.deliver(record, fresh[3]!, { offset: 4, epoch: F }, false);
    const report = ledger.check();
    assert.equal(report.counts.explicitlyLost, 4);
    assert.equal(report.counts.silentGaps, 1, 'e2:3 is owed: sent after the subscribe, not covered');
    assert.match(describeProblems(report), /c e2:3/);
  });

  test('another epoch is owed only for requests sent after the subscribe reply arrived', () => {
    const ledger = new Ledger();
    const early = ledger.attempt('early', 'c', 'api-2');
    const record = ledger.record('s', 'c');
    ledger.subscribed(record, { offset: 5, epoch: E });
    ledger.accept(early, { offset: 1, epoch: 'local-node-2' });
    ledger.accept(ledger.attempt('late', 'c', 'api-2'), { offset: 2, epoch: 'local-node-2' });
    const report = ledger.check();
    assert.equal(report.counts.silentGaps, 1);
    assert.match(describeProblems(report), /local-node-2:2 \(late via api-2\)/);
  });

  test('a publication whose answer was lost is owed once anybody received it or history holds it', () => {
    const ledger = new Ledger();
    const one = ledger.record('one', 'c');
    const two = ledger.record('two', 'c');
    ledger.subscribed(one, { offset: 0, epoch: E });
    ledger.subscribed(two, { offset: 0, epoch: E });
    ledger.fail(ledger.attempt('orphan', 'c', 'api-3'), 'connection reset');
    ledger.fail(ledger.attempt('kept', 'c', 'api-3'), 'timeout');
    ledger.fail(ledger.attempt('gone', 'c', 'api-3'), 'HTTP 503');
    ledger.deliver(one, 'orphan', { offset: 1, epoch: E }, false);
    ledger.observe('kept', 'c', { offset: 2, epoch: E });
    const { counts } = ledger.check();
    assert.equal(counts.publications, 2);
    assert.equal(counts.unanswered, 1);
    assert.equal(counts.silentGaps, 3, 'two misses orphan and kept, one misses kept');
  });

  test('a delivery at another position than the gateway answered, or of nothing published, is a conflict', () => {
    const ledger = new Ledger();
    const record = ledger.record('s', 'c');
    ledger.subscribed(record, { offset: 0, epoch: E });
    const [a] = publish(ledger, 'c', E, 1, 1);
    ledger.deliver(record, a!, { offset: 7, epoch: E }, false);
    ledger.deliver(record, 'phantom', { offset: 8, epoch: E }, false);
    const { counts, problems } = ledger.check();
    assert.equal(counts.conflicts, 2);
    assert.match(problems.map((problem) => problem.text).join('\n'), /published to c at e1:1[\s\S]*which nobody published/);
  });
});
