import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode, Disconnects, serverDisconnect, shouldReconnect } from '../../src/protocol/close-codes.js';
import { WsgateError } from '../../src/protocol/errors.js';
import type { ServerFrame } from '../../src/protocol/frames.js';
import {
  decodeChannelEnvelope, decodeInboxMessage, encodeChannelEnvelope, encodeEventEnvelope, encodeInboxMessage, inboxFrame,
} from '../../src/server/codec/broker-envelope.js';
import { codecFor } from '../../src/server/codec/codecs.js';
import { FrameKinds, OUTBOUND_TYPES } from '../../src/server/codec/frame-kinds.js';
import { encodeActionFrame, encodeMessageFrame, encodeNodeFrame, publicationFrame } from '../../src/server/codec/node-frames.js';
import { FrameBatches, type PreparedFrame } from '../../src/server/codec/prepared-frame.js';
import { RequestError } from '../../src/server/codec/protocol-codec.js';
import { FlushScheduler } from '../../src/server/session/flush-scheduler.js';
import { classify } from '../../src/server/codec/wsgate-v1/frame-type.js';
import { wsgateV1 } from '../../src/server/codec/wsgate-v1/codec.js';

const frames: ServerFrame[] = [
  { type: 'welcome', session: 's', user: 'u', node: 'n', protocol: 'wsgate.v1.json', pingInterval: 1 },
  { type: 'subscribed', id: 1, channel: 'chat:a', offset: 0, epoch: 'e' },
  { type: 'unsubscribed', channel: 'chat:a' },
  { type: 'published', id: 1, channel: 'chat:a', offset: 3, epoch: 'e' },
  { type: 'message', channel: 'chat:a', offset: 7, epoch: 'e1', from: null, data: { x: 1 } },
  { type: 'join', channel: 'chat:a', user: 'u', session: 's' },
  { type: 'lost', channel: 'chat:a', epoch: 'e1', from: 3, to: null },
  { type: 'direct', from: { user: 'u', session: 's' }, to: 'v', data: 1 },
  { type: 'error', code: 'BAD_FRAME', message: 'm' },
  { type: 'disconnect', code: 4001, reason: 'r', reconnect: true },
];

test('the encoder records each frame\'s kind, the bytes are the JSON of the frame', () => {
  for (const frame of frames) {
    const prepared = encodeNodeFrame(frame);
    assert.equal(prepared.payload.toString('utf8'), JSON.stringify(frame));
    assert.equal(OUTBOUND_TYPES[prepared.kind], frame.type, frame.type);
    assert.equal(prepared.kind, classify(prepared.payload), `${frame.type}: recorded kind and v1 classifier agree`);
  }
});

test('a message frame carries its position, a lost frame its range', () => {
  const message = encodeNodeFrame({ type: 'message', channel: 'chat:a', offset: 7, epoch: 'e1', from: null, data: null });
  assert.deepEqual(message.position, { offset: 7, epoch: 'e1' });
  assert.equal(message.lost, null);
  const lost = encodeNodeFrame({ type: 'lost', channel: 'chat:a', epoch: 'e1', from: 3, to: 9 });
  assert.deepEqual(lost.lost, { type: 'lost', channel: 'chat:a', epoch: 'e1', from: 3, to: 9 });
  assert.equal(lost.position, null);
  const publication = publicationFrame(Buffer.from(encodeMessageFrame('chat:a', 5, 'e', '1', 'null')), { offset: 5, epoch: 'e' });
  assert.equal(publication.kind, FrameKinds.message);
});

test('the channel envelope decoder tells publications from presence events', () => {
  const publication = decodeChannelEnvelope(encodeChannelEnvelope(Buffer.from(encodeMessageFrame('chat:a', 1, 'e', '1', 'null')), null, { offset: 1, epoch: 'e' }));
  assert.equal(publication?.kind, FrameKinds.message);
  const leave = decodeChannelEnvelope(encodeEventEnvelope({ type: 'leave', channel: 'chat:a', user: 'u', session: 's' }, null));
  assert.equal(leave?.kind, FrameKinds.leave);
  assert.equal(leave?.position, null);
});

test('inbox frames arrive as text and get their kind once', () => {
  assert.equal(inboxFrame(encodeNodeFrame({ type: 'direct', from: { user: 'u', session: 's' }, to: 'v', data: 1 }).payload.toString()).kind, FrameKinds.direct);
  assert.equal(inboxFrame(encodeActionFrame('MEMBER_DEACTIVATED', { id: 1 }).payload.toString()).kind, FrameKinds.action);
  assert.equal(encodeActionFrame('order.updated', null).kind, FrameKinds.action);
});

test('reconnect follows from the close code, on the wire and for earlier nodes reading the inbox', () => {
  for (const disconnect of Object.values(Disconnects)) {
    const frame = JSON.parse(wsgateV1.encodeDisconnect(disconnect, 5).payload.toString());
    assert.deepEqual(frame, { type: 'disconnect', code: disconnect.code, reason: disconnect.reason, reconnect: shouldReconnect(disconnect.code), after: 5 });
  }
  assert.deepEqual(serverDisconnect(true, 'r'), { code: CloseCode.SERVER_RECONNECT, reason: 'r' });
  assert.deepEqual(serverDisconnect(false, 'r'), { code: CloseCode.SERVER_DISCONNECT, reason: 'r' });
  const inbox = decodeInboxMessage(encodeInboxMessage({ kind: 'disconnect', sessions: ['s'], code: CloseCode.KICKED, reason: 'r' }));
  assert.deepEqual(inbox, { kind: 'disconnect', sessions: ['s'], code: CloseCode.KICKED, reason: 'r', reconnect: false });
});

test('the v1 codec decodes requests, refuses with the catalogue codes, and passes carried frames through', () => {
  const codec = codecFor('wsgate.v1.json');
  assert.equal(codec, wsgateV1);
  assert.deepEqual(codec.decode('{"type":"unsubscribe","id":1,"channel":"chat:a"}'), { kind: 'request', request: { type: 'unsubscribe', id: 1, channel: 'chat:a' } });
  assert.throws(() => codec.decode('{'), (error: unknown) => error instanceof WsgateError && error.code === 'BAD_FRAME');
  const tooLong = `chat:${'x'.repeat(261)}`;
  assert.throws(() => codec.decode(JSON.stringify({ type: 'subscribe', id: 2, channel: tooLong })),
    (error: unknown) => error instanceof RequestError && error.code === 'BAD_REQUEST' && error.requestId === 2);
  const carried = encodeNodeFrame({ type: 'join', channel: 'chat:a', user: 'u', session: 's' });
  assert.equal(codec.translate(carried, 'chat:a'), carried, 'the same frame object: zero-copy fan-out');
});

test('sessions flushing the same frames share one batch buffer; other frames get their own, with the right bytes', () => {
  const batches = new FrameBatches();
  const [a, b, c] = ['a', 'b', 'c'].map((data) => encodeNodeFrame({ type: 'message', channel: 'chat:a', offset: 1, epoch: 'e', from: null, data }));
  const bytesOf = (list: PreparedFrame[]): number => list.reduce((sum, frame) => sum + frame.wire.length, 0);
  const wireOf = (list: PreparedFrame[]): Buffer => Buffer.concat(list.map((frame) => frame.wire));

  const first = [a!, b!];
  const shared = batches.concat(first, bytesOf(first));
  assert.deepEqual(shared, wireOf(first));
  // The caller may reuse its array once written: the batch keeps its own list.
  first.length = 0;
  assert.equal(batches.concat([a!, b!], bytesOf([a!, b!])), shared, 'the same frames in the same order share the buffer');

  for (const other of [[b!, a!], [a!, c!], [a!, b!, c!], [a!]]) {
    const out = batches.concat(other, bytesOf(other));
    assert.notEqual(out, shared);
    assert.deepEqual(out, wireOf(other));
  }
});

test('a flush turn drops its shared batch when it ends', async () => {
  const scheduler = new FlushScheduler();
  const frame = encodeNodeFrame({ type: 'unsubscribed', channel: 'chat:a' });
  const pair = [frame, frame];
  let inTurn: Buffer | undefined;
  const flushed = new Promise<void>((resolve) => {
    scheduler.schedule({ flush: () => { inTurn = scheduler.batches.concat(pair, 2 * frame.wire.length); } });
    scheduler.schedule({ flush: () => { assert.equal(scheduler.batches.concat(pair, 2 * frame.wire.length), inTurn); resolve(); } });
  });
  await flushed;
  await new Promise((resolve) => setImmediate(resolve));
  assert.notEqual(scheduler.batches.concat(pair, 2 * frame.wire.length), inTurn, 'a later turn builds its own');
});
