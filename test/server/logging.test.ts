import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { createLogger, serializeRequest } from '../../src/server/observability/logger.js';
import { connect, open } from '../helpers/client.js';
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
  } finally {
    await gw.stop();
  }
  // The pino logger itself censors the fields that carry credentials, whoever logs them.
  const direct = createLogger('info', sink);
  direct.info({ ticket, token, headers: { authorization: `Bearer ${API_KEY}`, cookie }, req: { url: `/ws?ticket=${ticket}` } }, 'request');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(output.length > 0, 'something was logged');
  for (const secret of [ticket, token, cookie, API_KEY]) assert.ok(!output.includes(secret), 'a credential appeared in the log');
  assert.deepEqual(serializeRequest({ method: 'GET', url: `/ws?ticket=${ticket}` }), { method: 'GET', path: '/ws', ip: undefined });
});
