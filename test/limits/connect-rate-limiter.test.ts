import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectRateLimiter } from '../../src/server/limits/connect-rate-limiter.js';
import { TestClock } from '../support/clock.js';

test('connect limiter: a burst per address, refilled at the rate on its clock, bounded in addresses', async () => {
  const clock = new TestClock();
  const limiter = new ConnectRateLimiter(1, 2, { maxAddresses: 2, clock: clock.now });
  assert.deepEqual([limiter.allow('a'), limiter.allow('a'), limiter.allow('a')], [true, true, false]);
  assert.equal(limiter.allow('b'), true, 'addresses have their own buckets');
  await clock.elapse(1_000);
  assert.deepEqual([limiter.allow('a'), limiter.allow('a')], [true, false], 'one token back after a second');
  // A third address fills the table: the least recently used one ('b') is forgotten and starts full again.
  assert.equal(limiter.allow('c'), true);
  assert.equal(limiter.allow('a'), false, 'the address in use kept its empty bucket');
  assert.deepEqual([limiter.allow('b'), limiter.allow('b'), limiter.allow('b')], [true, true, false]);
  await clock.elapse(5_000);
  assert.deepEqual([limiter.allow('a'), limiter.allow('a'), limiter.allow('a')], [true, true, false], 'an idle bucket is full again');
});
