import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connectAs, type TestClient } from '../helpers/client.js';
import { api } from './api-client.js';

const SECOND_KEY = 'rotated-api-key-abcdefghijkl';

describe('server API: authentication, validation, publish', () => {
  let running: RunningGateway;
  let reader: TestClient;

  before(async () => {
    running = await startGateway({ apiKeys: ['test-api-key-0123456789', SECOND_KEY], limits: { apiBodyBytes: 2048 } });
    reader = await connectAs(running, 'reader');
    await reader.subscribe('chat:room');
  });
  after(async () => {
    await reader.close();
    await running.stop();
  });

  test('a missing or wrong key is 401 UNAUTHORIZED; every configured key is accepted', async () => {
    const missing = await api(running, 'GET', '/api/info', undefined, { key: null });
    assert.equal(missing.status, 401);
    assert.equal(missing.body.code, 'UNAUTHORIZED');
    const wrong = await api(running, 'GET', '/api/info', undefined, { key: 'not-the-key-at-all-123' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'UNAUTHORIZED');
    const notBearer = await api(running, 'GET', '/api/info', undefined, { key: null, headers: { authorization: `Basic ${SECOND_KEY}` } });
    assert.equal(notBearer.status, 401);
    assert.equal((await api(running, 'GET', '/api/info', undefined, { key: SECOND_KEY })).status, 200);
  });

  test('bad input is refused with a catalogue code and nothing is published', async () => {
    const before = (await api(running, 'POST', '/api/publish', { channel: 'chat:room', data: 'marker-0' })).body.offset as number;
    const cases: Array<[string, unknown, number, string, string?]> = [
      ['malformed JSON', undefined, 400, 'BODY_INVALID', '{"channel": "chat:room", "data": '],
      ['channel of the wrong type', { channel: 5, data: 1 }, 400, 'BODY_INVALID'],
      ['missing data', { channel: 'chat:room' }, 400, 'BODY_INVALID'],
      ['unknown field', { channel: 'chat:room', data: 1, chanel: 'x' }, 400, 'BODY_INVALID'],
      ['bad channel name', { channel: 'chat room', data: 1 }, 400, 'CHANNEL_INVALID'],
      ['unknown namespace', { channel: 'nope:room', data: 1 }, 404, 'NAMESPACE_UNKNOWN'],
      ['namespace named like an Object member', { channel: 'constructor:room', data: 1 }, 404, 'NAMESPACE_UNKNOWN'],
      ['namespace named __proto__', { channel: '__proto__:room', data: 1 }, 404, 'NAMESPACE_UNKNOWN'],
      ['array body', [1, 2], 400, 'BODY_INVALID'],
      ['oversized body', { channel: 'chat:room', data: 'x'.repeat(4096) }, 413, 'BODY_TOO_LARGE'],
    ];
    for (const [what, body, status, code, raw] of cases) {
      const answer = await api(running, 'POST', '/api/publish', body, raw === undefined ? {} : { raw });
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, code, what);
    }
    const textBody = await api(running, 'POST', '/api/publish', undefined, { raw: 'channel=chat:room', headers: { 'content-type': 'text/plain' } });
    assert.equal(textBody.status, 400);
    assert.equal(textBody.body.code, 'BODY_INVALID');
    const afterOffset = (await api(running, 'POST', '/api/publish', { channel: 'chat:room', data: 'marker-1' })).body.offset as number;
    assert.equal(afterOffset, before + 1, 'no refused request published anything');
    const unknown = await api(running, 'GET', '/api/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'NOT_FOUND');
  });

  test('publish delivers to subscribers with from null and answers offset and epoch', async () => {
    const delivered = reader.next('message', (frame) => (frame.data as { n?: number }).n === 42);
    const answer = await api(running, 'POST', '/api/publish', { channel: 'chat:room', data: { n: 42 } });
    assert.equal(answer.status, 200);
    assert.equal(typeof answer.body.offset, 'number');
    assert.equal(typeof answer.body.epoch, 'string');
    const frame = await delivered;
    assert.equal(frame.from, null);
    assert.equal(frame.offset, answer.body.offset);
    assert.equal(frame.epoch, answer.body.epoch);
  });

  test('publish to a namespace closed to clients works for backends', async () => {
    const answer = await api(running, 'POST', '/api/publish', { channel: 'news:today', data: 'headline' });
    assert.equal(answer.status, 200);
  });

  test('an Idempotency-Key makes a retried publish count once', async () => {
    const key = `order-17-${Date.now()}`;
    const body = { channel: 'chat:room', data: { order: 17 } };
    const first = await api(running, 'POST', '/api/publish', body, { headers: { 'idempotency-key': key } });
    const second = await api(running, 'POST', '/api/publish', body, { headers: { 'idempotency-key': key } });
    assert.equal(first.status, 200);
    assert.deepEqual(second.body, first.body, 'the retry gets the same answer');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    // Concurrent retries are deduplicated too.
    const concurrentKey = `${key}-concurrent`;
    const concurrent = await Promise.all([1, 2, 3].map(() =>
      api(running, 'POST', '/api/publish', { channel: 'chat:room', data: { order: 18 } }, { headers: { 'idempotency-key': concurrentKey } })));
    assert.equal(new Set(concurrent.map((answer) => answer.body.offset)).size, 1);

    const fence = await api(running, 'POST', '/api/publish', { channel: 'chat:room', data: 'fence' });
    await reader.seen('message', (frame) => frame.offset === fence.body.offset);
    assert.equal(reader.frames.filter((frame) => frame.type === 'message' && (frame.data as { order?: number }).order === 17).length, 1);
    assert.equal(reader.frames.filter((frame) => frame.type === 'message' && (frame.data as { order?: number }).order === 18).length, 1);
    assert.equal(fence.body.offset, first.body.offset + 2, 'the retries took no offsets');

    const reused = await api(running, 'POST', '/api/publish', { channel: 'chat:room', data: { order: 99 } }, { headers: { 'idempotency-key': key } });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.code, 'IDEMPOTENCY_CONFLICT');
    const invalid = await api(running, 'POST', '/api/publish', body, { headers: { 'idempotency-key': 'has spaces in it' } });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'IDEMPOTENCY_KEY_INVALID');
  });
});
