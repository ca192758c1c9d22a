import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseCode, Disconnects } from '../../src/protocol/close-codes.js';
import { FrameKinds } from '../../src/server/codec/frame-kinds.js';
import { encodeActionFrame, encodeMessageFrame, encodeNodeFrame, publicationFrame } from '../../src/server/codec/node-frames.js';
import { PUSHER_CLOSE, PUSHER_TERMINATED, pusherCloseCode } from '../../src/server/codec/pusher-v7/close-codes.js';
import { PusherV7Codec } from '../../src/server/codec/pusher-v7/codec.js';

const codec = new PusherV7Codec(120);
const channel = 'pusher-app:private-orders';
const json = (frame: { payload: Buffer } | null) => JSON.parse(frame!.payload.toString('utf8')) as Record<string, unknown>;

test('a publication carrying a Pusher event is translated once, and every subscriber shares the result', () => {
  const data = JSON.stringify({ event: 'created', data: '{"id":1}', user_id: 'u1' });
  const carried = publicationFrame(Buffer.from(encodeMessageFrame(channel, 3, 'e', data, 'null')), { offset: 3, epoch: 'e' });
  const first = codec.translate(carried, channel, null);
  assert.deepEqual(json(first), { event: 'created', channel: 'private-orders', data: '{"id":1}', user_id: 'u1' });
  assert.equal(codec.translate(carried, channel, 'someone'), first, 'the same frame object for the next subscriber');
  assert.equal(first!.kind, FrameKinds.message);
});

test('other data on a Pusher channel is the event "message"; lost ranges and direct messages have no Pusher form', () => {
  const carried = publicationFrame(Buffer.from(encodeMessageFrame(channel, 1, 'e', '{"x":1}', 'null')), { offset: 1, epoch: 'e' });
  assert.deepEqual(json(codec.translate(carried, channel)), { event: 'message', channel: 'private-orders', data: '{"x":1}' });
  assert.equal(codec.translate(encodeNodeFrame({ type: 'lost', channel, epoch: 'e', from: 1, to: 2 }), channel), null);
  assert.equal(codec.translate(encodeNodeFrame({ type: 'direct', from: { user: 'a', session: 's' }, to: 'b', data: 1 }), null, 'b'), null);
});

test('presence joins and leaves are member_added (with user_info) and member_removed', () => {
  const presence = 'pusher-app-presence:presence-room';
  const join = encodeNodeFrame({ type: 'join', channel: presence, user: 'u1', session: 's', info: { name: 'U' } });
  assert.deepEqual(json(codec.translate(join, presence)), {
    event: 'pusher_internal:member_added', channel: 'presence-room', data: '{"user_id":"u1","user_info":{"name":"U"}}',
  });
  const leave = encodeNodeFrame({ type: 'leave', channel: presence, user: 'u1', session: 's' });
  assert.deepEqual(json(codec.translate(leave, presence)), { event: 'pusher_internal:member_removed', channel: 'presence-room', data: '{"user_id":"u1"}' });
});

test('an action sent to a user is a user event on #server-to-user-<id>, per recipient', () => {
  const action = encodeActionFrame('MEMBER_DEACTIVATED', '{"why":"left"}');
  assert.deepEqual(json(codec.translate(action, null, 'alice')), { event: 'MEMBER_DEACTIVATED', channel: '#server-to-user-alice', data: '{"why":"left"}' });
  assert.equal(json(codec.translate(action, null, 'bob')).channel, '#server-to-user-bob');
  assert.equal(codec.translate(action, null, null), null, 'an anonymous connection has no user channel');
});

test('the welcome is pusher:connection_established; wsgate close codes map onto Pusher\'s ranges', () => {
  const welcome = codec.encode({ type: 'welcome', session: '1.2', user: null, node: 'n', protocol: 'pusher.7', pingInterval: 1 });
  assert.deepEqual(json(welcome), { event: 'pusher:connection_established', data: '{"socket_id":"1.2","activity_timeout":120}' });
  assert.equal(codec.closeCode(Disconnects.SERVICE_RESTART.code), PUSHER_CLOSE.RECONNECT);
  assert.equal(codec.closeCode(CloseCode.TRY_AGAIN_LATER), PUSHER_CLOSE.OVER_CAPACITY);
  assert.equal(codec.closeCode(Disconnects.RATE_LIMITED.code), PUSHER_CLOSE.CLIENT_EVENT_RATE_LIMIT);
  assert.equal(codec.closeCode(PUSHER_TERMINATED.code), PUSHER_CLOSE.UNAUTHORIZED);
  assert.equal(pusherCloseCode(Disconnects.SESSION_LIMIT.code), PUSHER_CLOSE.OVER_CONNECTION_QUOTA);
  assert.equal(pusherCloseCode(PUSHER_CLOSE.UNAUTHORIZED), PUSHER_CLOSE.UNAUTHORIZED, 'a Pusher code passes through');
  for (const code of Object.values(CloseCode)) {
    const mapped = pusherCloseCode(code);
    assert.ok(mapped >= 4000 && mapped <= 4399, `${code} → ${mapped} is in Pusher's ranges`);
  }
  assert.deepEqual(json(codec.encodeDisconnect(Disconnects.SERVICE_RESTART)), { event: 'pusher:error', data: '{"code":4200,"message":"node is restarting"}' });
});
