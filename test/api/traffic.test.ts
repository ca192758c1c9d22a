import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVER_FRAME_TYPES } from '../../src/protocol/frames.js';
import { OUTBOUND_TYPES } from '../../src/server/codec/frame-kinds.js';
import { classify } from '../../src/server/codec/wsgate-v1/frame-type.js';
import { RateWindow } from '../../src/server/observability/traffic.js';

test('outbound frames are classified by their type without parsing', () => {
  for (const type of OUTBOUND_TYPES.filter((candidate) => candidate !== 'action')) {
    assert.equal(OUTBOUND_TYPES[classify(Buffer.from(JSON.stringify({ type, x: 1 })))], type, type);
  }
  for (const type of SERVER_FRAME_TYPES) assert.ok((OUTBOUND_TYPES as readonly string[]).includes(type), `${type} has its own count`);
  for (const type of ['messages', 'mess', 'MEMBER_DEACTIVATED', 'sentinel', 'dir', 'subscribedX', 'p', 'order.updated', 'refreshes', 'refresh', 'refresh-required']) {
    assert.equal(OUTBOUND_TYPES[classify(Buffer.from(JSON.stringify({ type, payload: null })))], 'action', type);
  }
});

test('rates are per second over the window', () => {
  let total = 0;
  const window = new RateWindow(() => [total], 60_000, 1_000);
  window.start();
  window.stop();
  total = 300;
  const [rate] = window.rates(Date.now() + 10_000);
  // Ten seconds after the first sample, give or take the milliseconds this test itself took.
  assert.ok(Math.abs(rate! - 30) < 0.5, `rate ${rate}`);
  assert.equal(window.rates(Date.now())[0], 300, 'within the first second, what happened counts as one second');
});
