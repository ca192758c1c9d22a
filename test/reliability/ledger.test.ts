/**
 * The delivery ledger under faults, on every engine: 3 gateway processes behind HAProxy, publishers on every node
 * (server API with requests in flight, raw `publish`, SDK `publish`), subscribers on every node (raw and SDK), and in
 * turn a SIGKILLed node, a restarted Redis and a subscriber paused out of the history window. Per subscriber, every
 * publication owed to it arrives once and in offset order per epoch, or a loss signal covers it (support/ledger.ts
 * defines "owed"). The counts are printed per engine.
 *
 * `WSGATE_LEDGER_ENGINES=redis,shards,cluster,nats` (any of them) narrows the engine setups;
 * `scripts/ledger-loop.sh N` runs the suite N times in a row.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ENGINE_SETUPS } from '../cluster/support/cluster.js';
import { describeProblems, formatCounts } from './support/ledger.js';
import { runLedgerScenario } from './support/scenario.js';

const only = process.env.WSGATE_LEDGER_ENGINES?.split(',').map((word) => word.trim()).filter(Boolean);
/** `redis` is the single-Redis setup; `shards`, `cluster`, `nats` (or a full name) pick the others. */
const picks = (name: string, word: string) => name === word || (word !== 'redis' && name.split(/[^a-z0-9]+/).includes(word));
const setups = ENGINE_SETUPS.filter((setup) => !only || only.some((word) => picks(setup.name, word)));

describe('delivery ledger under faults', () => {
  for (const setup of setups) {
    test(`${setup.name}: every owed publication delivered once, in order, or explicitly lost`, { timeout: 240_000 }, async (t) => {
      const { report, ledger, notes } = await runLedgerScenario(setup, (line) => t.diagnostic(line));
      const line = formatCounts(setup.name, report.counts);
      t.diagnostic(line);
      for (const note of notes) t.diagnostic(note);
      console.log(line);
      const { silentGaps, duplicates, inversions, conflicts } = report.counts;
      if (silentGaps + duplicates + inversions + conflicts > 0) {
        const file = join(tmpdir(), `wsgate-ledger-${setup.name.replace(/\W+/g, '-')}-${process.pid}.json`);
        writeFileSync(file, JSON.stringify(ledger));
        assert.fail(`${line}\n${describeProblems(report)}\nthe whole ledger: ${file}`);
      }
      assert.ok(report.counts.deliveries > 0 && report.counts.accepted > 0, 'the run delivered something');
    });
  }
});
