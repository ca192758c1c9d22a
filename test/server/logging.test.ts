import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { createLogger, serializeRequest } from '../../src/server/observability/logger.js';
import { connect, open } from '../helpers/client.js';
import { rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/raw-http.js';
import { API_KEY, COOKIE_SECRET, JWT_SECRET, mintTicket, startGateway } from '../helpers/gateway.js';

test('credentials never reach the log, even at trace level', async () => {
  let output = '';
  const sink = new Writable({ write(chunk, _encoding, done) { output += chunk.toString(); done(); } });
  const gw = await startGateway({ log: { level: 'trace' } }, { logger: createLogger('trace', sink) });
  const ticket = await mintTicket(gw, 'alice');
  const token = await signToken(JWT_SECRET, 'bob', {}, 60);
  const cookie = await signToken(COOKIE_SECRET, 'carol', {}, 60);
  try {
    await open(gw.wsUrl, { ticket, origin: 'http://evil.example' }).catch(() => undefined);
    (await connect(gw.wsUrl, { ticket })).ws.terminate();
    await open(gw.wsUrl, { ticket }).catch(() => undefined);
    (await connect(gw.wsUrl, { token })).ws.terminate();
    (await connect(gw.wsUrl, { headers: { cookie: `wsgate_session=${cookie}` } })).ws.terminate();
    await open(gw.wsUrl, { headers: { authorization: `Bearer ${token}x` } }).catch(() => undefined);
    // Malformed requests carrying credentials in their query: each is a 4xx, and its target is logged nowhere.
    const malformed: Array<[string, number]> = [
      [`GET //[bad/ws?token=${token} HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`, 400],
      [`GET http://[bad/ws?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`, 400],
      [`GET /ws?token=${token} HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 99\r\n\r\n`, 400],
      [`GET /ws?token=${token}%zz HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`, 401],
      [`GET /ws?ticket=${ticket} x HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\n\r\n`, 400],
      [`GET //[bad/auth/ticket?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n\r\n`, 400],
      [`POST //[bad/auth/ticket?token=${token} HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n`, 400],
      [`POST /auth/ticket?token=${token} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{oops`, 400],
      [`GET /%zz/auth/ticket?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n\r\n`, 400],
      [`GET /ws?token=${token}\x01 HTTP/1.1\r\nHost: gw\r\n\r\n`, 400],
    ];
    for (const [request, status] of malformed) {
      const answer = await rawExchange(gw.port, request);
      assert.equal(statusOf(answer), status, `${JSON.stringify(request.split('\r\n')[0])}: ${answer}`);
    }
  } finally {
    await gw.stop();
  }
  // The pino logger itself censors the fields that carry credentials, whoever logs them.
  const direct = createLogger('info', sink);
  direct.info({ ticket, token, headers: { authorization: `Bearer ${API_KEY}`, cookie }, req: { url: `/ws?ticket=${ticket}` } }, 'request');
  // So does its error serializer, for errors that carry the request they came from.
  const badUrl = Object.assign(new TypeError('Invalid URL'), { input: `//[bad/ws?token=${token}` });
  const parseError = Object.assign(new Error('Parse Error'), { rawPacket: Buffer.from(`GET /auth/ticket?ticket=${ticket}`) });
  direct.error({ err: badUrl }, 'failed');
  direct.error({ err: parseError }, 'failed');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(output.length > 0, 'something was logged');
  for (const secret of [ticket, token, cookie, API_KEY]) assert.ok(!output.includes(secret), 'a credential appeared in the log');
  assert.ok(!output.includes(Buffer.from(`?ticket=${ticket}`).toJSON().data.join(',')), 'nor its bytes');
  assert.ok(output.includes('"input":"//[bad/ws"'), 'the error keeps the URL without its query');
  assert.deepEqual(serializeRequest({ method: 'GET', url: `/ws?ticket=${ticket}` }), { method: 'GET', path: '/ws', ip: undefined });
});

