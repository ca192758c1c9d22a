import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from '../../src/client/index.js';
import { retryAfterMs } from '../../src/client/socket.js';

describe('backoff', () => {
  const options = resolveBackoff({ minDelay: 100, maxDelay: 5_000, factor: 2 });

  it('has the documented defaults', () => {
    assert.deepEqual({ ...resolveBackoff() }, { minDelay: 500, maxDelay: 20_000, factor: 2 });
    assert.equal(DEFAULT_BACKOFF.minDelay, 500);
  });

  it('grows the ceiling by the factor per attempt and caps it at maxDelay', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 50, 5_000].map((attempt) => backoffCeiling(attempt, options)),
      [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000],
    );
  });

  it('keeps every jittered delay within [0, ceiling] and spreads it over the whole window', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = backoffCeiling(attempt, options);
      const samples = Array.from({ length: 2_000 }, () => backoffDelay(attempt, options));
      for (const delay of samples) assert.ok(delay >= 0 && delay <= ceiling, `${delay} outside [0, ${ceiling}]`);
      // Full jitter: the samples reach both ends of the window and average around its middle.
      assert.ok(Math.min(...samples) < ceiling * 0.1, `attempt ${attempt}: smallest sample too large`);
      assert.ok(Math.max(...samples) > ceiling * 0.9, `attempt ${attempt}: largest sample too small`);
      const mean = samples.reduce((sum, delay) => sum + delay, 0) / samples.length;
      assert.ok(Math.abs(mean - ceiling / 2) < ceiling * 0.1, `attempt ${attempt}: mean ${mean} not near ${ceiling / 2}`);
    }
  });

  it('maps the random source onto the window', () => {
    assert.equal(backoffDelay(3, options, () => 0), 0);
    assert.equal(backoffDelay(3, options, () => 0.5), 400);
    assert.equal(backoffDelay(3, options, () => 0.999_999), 800);
  });

  it('stays finite for huge attempts and a zero minimum', () => {
    assert.equal(backoffDelay(10_000, options, () => 0.5), 2_500);
    assert.equal(backoffDelay(10_000, resolveBackoff({ minDelay: 0 }), () => 0.5), 0);
  });

  it('refuses options that make no sense', () => {
    assert.throws(() => resolveBackoff({ minDelay: -1 }), RangeError);
    assert.throws(() => resolveBackoff({ minDelay: 100, maxDelay: 50 }), RangeError);
    assert.throws(() => resolveBackoff({ factor: 0.5 }), RangeError);
    assert.throws(() => resolveBackoff({ maxDelay: Number.NaN }), RangeError);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it('reads whole seconds and HTTP dates, caps long waits, ignores what is neither', () => {
    assert.equal(retryAfterMs('2', now), 2_000);
    assert.equal(retryAfterMs(' 0 ', now), 0);
    assert.equal(retryAfterMs('Tue, 01 Dec 2026 12:00:05 GMT', now), 5_000);
    assert.equal(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now), 0, 'a date in the past: no wait');
    assert.equal(retryAfterMs('86400', now), 300_000);
    assert.equal(retryAfterMs(['3', '9'], now), 3_000);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(retryAfterMs('-1', now), undefined);
    assert.equal(retryAfterMs('soon', now), undefined);
  });
});
