import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChannelEnvelope, encodeChannelEnvelope, encodePublicationEnvelope } from '../../src/server/codec/broker-envelope.js';
import { encodeMessageFrame, messageFrameTemplate } from '../../src/server/codec/wsgate-v1/server-frames.js';

test('a channel envelope carries the stream position, the excluded session and the frame bytes unchanged', () => {
  const frame = Buffer.from('{"type":"message","data":"héllo\\n"}', 'utf8');
  const decoded = decodeChannelEnvelope(encodeChannelEnvelope(frame, 's-1', { offset: 9007199254740991, epoch: 'e1' }));
  assert.deepEqual(decoded?.position, { offset: 9007199254740991, epoch: 'e1' });
  assert.equal(decoded?.excludeSession, 's-1');
  assert.deepEqual(decoded?.frame, frame);
});

test('a frame outside the stream (presence) has no position and may exclude nobody', () => {
  const decoded = decodeChannelEnvelope(encodeChannelEnvelope(Buffer.from('{}'), null));
  assert.equal(decoded?.position, null);
  assert.equal(decoded?.excludeSession, null);
  assert.equal(decoded?.frame.toString(), '{}');
});

test('payloads that are not envelopes decode to null', () => {
  for (const bad of ['', '\u0001abc', '\u0002x e s\n{}', '\u00025  s\n{}', '\u00021 e\n{}', '\u00021 e s{}', '\u0002-1 e s\n{}', `\u00021 ${'e'.repeat(600)} s\n{}`]) {
    assert.equal(decodeChannelEnvelope(Buffer.from(bad, 'utf8')), null, JSON.stringify(bad));
  }
});

test('a publication envelope built from the message frame template is the envelope of the encoded message frame', () => {
  const [channel, dataJson, fromJson] = ['chat:é/x', '{"text":"a \\"b\\" \\\\ \\n"}', '{"user":"alice","session":"s-1"}'];
  const position = { offset: 9007199254740991, epoch: 'local-node_1.a' };
  const expected = encodeChannelEnvelope(Buffer.from(encodeMessageFrame(channel, position.offset, position.epoch, dataJson, fromJson)), 's-1', position);
  assert.deepEqual(encodePublicationEnvelope(messageFrameTemplate(channel, dataJson, fromJson), 's-1', position), expected);
  assert.deepEqual(JSON.parse(decodeChannelEnvelope(expected)!.frame.toString()), { type: 'message', channel, offset: position.offset, epoch: position.epoch, from: JSON.parse(fromJson), data: JSON.parse(dataJson) });
});
