import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../src/protocol/json-depth.js';
import { connectAs, type TestClient } from '../helpers/client.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';

/** JSON text of arrays nested `levels` deep: `[[[1]]]` is 3. */
function nested(levels: number): string {
  return '['.repeat(levels) + '1' + ']'.repeat(levels);
}

/** 10,000 levels: 20 KB, well under maxPayload and the API body limit, and far past what JSON.stringify can recurse. */
const ABYSS = nested(10_000);

describe('deeply nested JSON is bad input', () => {
  let gw: RunningGateway;
  let client: TestClient;
  before(async () => {
    gw = await startGateway({ auth: { devLogin: true } });
    client = await connectAs(gw, 'diver');
    await client.subscribe('chat:deep');
  });
  after(async () => {
    await client.close();
    await gw.stop();
  });

  test('a WebSocket frame nested deeper than the limit gets BAD_REQUEST with its id, and the session stays', async () => {
    for (const frame of [
      `{"type":"publish","id":"p","channel":"chat:deep","data":${ABYSS}}`,
      `{"type":"send","id":"s","user":"someone","data":${ABYSS}}`,
      `{"type":"ORDER_CREATE","id":"a","payload":${ABYSS}}`,
      `{"id":"x","type":"publish","channel":"chat:deep","data":{"a":${nested(MAX_JSON_DEPTH)}}}`,
    ]) {
      const id = /"id":"(\w)"/.exec(frame)![1];
      const since = client.frames.length;
      client.ws.send(frame);
      const error = await client.waitFor((candidate) => candidate.type === 'error', 5_000, since);
      assert.deepEqual([error.code, error.id], ['BAD_REQUEST', id], frame.slice(0, 60));
      assert.match(String(error.message), new RegExp(`${MAX_JSON_DEPTH}`));
    }
    // At the limit exactly: the frame is depth 1, its data one level in.
    const atLimit = await client.request({ type: 'publish', channel: 'chat:deep', data: JSON.parse(nested(MAX_JSON_DEPTH - 1)) });
    assert.equal(atLimit.type, 'published');
    assert.equal(client.ws.readyState, client.ws.OPEN);
  });

  test('a server API body nested deeper than the limit is 400 BODY_INVALID on every route', async () => {
    const calls: Array<[string, string]> = [
      ['/api/publish', `{"channel":"chat:deep","data":${ABYSS}}`],
      ['/api/users/someone/send', `{"type":"PING","payload":${ABYSS}}`],
      ['/api/tickets', `{"user":"someone","claims":{"deep":${ABYSS}}}`],
      ['/api/batch', `{"requests":[{"method":"POST","path":"/api/publish","body":{"channel":"chat:deep","data":${ABYSS}}}]}`],
      ['/auth/dev-login', `{"user":"someone","claims":{"deep":${ABYSS}}}`],
    ];
    for (const [path, body] of calls) {
      const response = await fetch(`${gw.httpUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', origin: 'http://app.example' },
        body,
      });
      const answer = (await response.json()) as { code: string; message: string };
      assert.deepEqual([response.status, answer.code], [400, 'BODY_INVALID'], path);
      assert.match(answer.message, new RegExp(`${MAX_JSON_DEPTH}`), path);
    }
    const atLimit = await fetch(`${gw.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: `{"channel":"chat:deep","data":${nested(MAX_JSON_DEPTH - 1)}}`,
    });
    assert.equal(atLimit.status, 200);
  });
});

test('depth counts objects and arrays, not brackets inside strings', () => {
  assert.equal(exceedsJsonDepth('{"a":[1]}', 2), false);
  assert.equal(exceedsJsonDepth('{"a":[[1]]}', 2), true);
  assert.equal(exceedsJsonDepth(`{"text":"${'['.repeat(500)}"}`, 2), false);
  assert.equal(exceedsJsonDepth(`{"text":"\\"${'{'.repeat(500)}\\""}`, 2), false, 'escaped quotes do not end the string');
  assert.equal(exceedsJsonDepth(`[${'{"a":1},'.repeat(500)}{}]`, 2), false, 'many siblings are not depth');
});
