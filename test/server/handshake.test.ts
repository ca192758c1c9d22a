import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { signToken } from '../../src/server/auth/token-verifier.js';
import { connect, HandshakeRefused, open } from '../helpers/client.js';
import { COOKIE_SECRET, JWT_SECRET, mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { TestClock } from '../support/clock.js';
import { rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/raw-http.js';

async function refused(promise: Promise<unknown>): Promise<HandshakeRefused> {
  const error = await promise.then(() => assert.fail('handshake should be refused'), (e: unknown) => e);
  assert.ok(error instanceof HandshakeRefused, `expected a refused handshake, got ${String(error)}`);
  return error;
}

describe('handshake', () => {
  let gw: RunningGateway;
  let jwksKey: CryptoKey;
  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    jwksKey = privateKey as CryptoKey;
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-jwks-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    gw = await startGateway({
      auth: { anonymous: false, jwt: { secrets: ['rotated-new-secret-000000', JWT_SECRET], jwksFile } },
    });
  });
  after(() => gw.stop());

  test('a client that offers no subprotocol gets v1 JSON', async () => {
    const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'alice'), protocols: [] });
    assert.equal(client.ws.protocol, '', 'nothing offered, nothing echoed');
    assert.equal(client.welcome!.protocol, 'wsgate.v1.json');
    await client.close();
  });

  test('the supported subprotocol is chosen among unknown ones', async () => {
    const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'alice'), protocols: ['mqtt', 'wsgate.v1.json'] });
    assert.equal(client.ws.protocol, 'wsgate.v1.json');
    await client.close();
  });

  test('only unknown subprotocols: 400 with a reason, and the ticket is not consumed', async () => {
    const ticket = await mintTicket(gw, 'alice');
    const error = await refused(open(gw.wsUrl, { ticket, protocols: ['wsgate.v9.json'] }));
    assert.equal(error.status, 400);
    assert.equal(error.code, 'SUBPROTOCOL_UNSUPPORTED');
    const client = await connect(gw.wsUrl, { ticket });
    assert.equal(client.welcome!.user, 'alice');
    await client.close();
  });

  test('a foreign origin is refused with 403 and consumes no ticket', async () => {
    const ticket = await mintTicket(gw, 'alice');
    const error = await refused(open(gw.wsUrl, { ticket, origin: 'http://evil.example' }));
    assert.equal(error.status, 403);
    assert.equal(error.code, 'ORIGIN_FORBIDDEN');
    const client = await connect(gw.wsUrl, { ticket, origin: 'http://app.example' });
    assert.equal(client.welcome!.user, 'alice');
    await client.close();
  });

  test('a ticket opens one session, carries its user, and cannot be reused', async () => {
    const ticket = await mintTicket(gw, 'alice', { org: 'acme' });
    const client = await connect(gw.wsUrl, { ticket });
    assert.equal(client.welcome!.user, 'alice');
    assert.match(String(client.welcome!.session), /^[A-Za-z0-9_-]{16}$/);
    assert.equal(typeof client.welcome!.node, 'string');
    const reused = await refused(open(gw.wsUrl, { ticket }));
    assert.equal(reused.status, 401);
    assert.equal(reused.code, 'TICKET_INVALID');
    await client.close();
  });

  test('an unknown or expired ticket is refused', async () => {
    assert.equal((await refused(open(gw.wsUrl, { ticket: 'x'.repeat(43) }))).code, 'TICKET_INVALID');
    // The ticket store runs on a clock the test moves, so the ticket expires without waiting.
    const clock = new TestClock();
    const timed = await startGateway({}, { engine: new MemoryEngine(new MemoryCluster({ clock: clock.now })) });
    try {
      const ticket = await mintTicket(timed, 'alice', {}, 1);
      await clock.elapse(1_100);
      assert.equal((await refused(open(timed.wsUrl, { ticket }))).code, 'TICKET_INVALID');
    } finally {
      await timed.stop();
    }
  });

  test('two concurrent redemptions of one ticket: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const ticket = await mintTicket(gw, 'racer');
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => open(gw.wsUrl, { ticket })));
      const won = results.filter((result) => result.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
      for (const result of results) {
        if (result.status === 'rejected') assert.equal((result.reason as HandshakeRefused).code, 'TICKET_INVALID');
      }
      await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof open>>>).value.close();
    }
  });

  test('a JWT in Authorization: Bearer, signed with any of the rotating secrets', async () => {
    for (const secret of [JWT_SECRET, 'rotated-new-secret-000000']) {
      const token = await signToken(secret, 'bob', { org: 'acme' }, 60);
      const client = await connect(gw.wsUrl, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(client.welcome!.user, 'bob');
      await client.close();
    }
  });

  test('a JWT in ?token= for clients that cannot set headers', async () => {
    const client = await connect(gw.wsUrl, { token: await signToken(JWT_SECRET, 'carol', {}, 60) });
    assert.equal(client.welcome!.user, 'carol');
    await client.close();
  });

  test('a JWT signed with a key from the JWKS file', async () => {
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('dave')
      .setExpirationTime('1m').sign(jwksKey);
    const client = await connect(gw.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(client.welcome!.user, 'dave');
    await client.close();
  });

  test('bad and expired JWTs are refused with distinct codes', async () => {
    const wrong = await signToken('some-other-secret-0000000', 'eve', {}, 60);
    assert.equal((await refused(open(gw.wsUrl, { headers: { authorization: `Bearer ${wrong}` } }))).code, 'TOKEN_INVALID');
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eve')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(new TextEncoder().encode(JWT_SECRET));
    const error = await refused(open(gw.wsUrl, { headers: { authorization: `Bearer ${expired}` } }));
    assert.equal(error.status, 401);
    assert.equal(error.code, 'TOKEN_EXPIRED');
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eve').sign(new TextEncoder().encode(JWT_SECRET));
    assert.equal((await refused(open(gw.wsUrl, { headers: { authorization: `Bearer ${noExp}` } }))).code, 'TOKEN_INVALID');
    assert.equal((await refused(open(gw.wsUrl, { headers: { authorization: 'Bearer not-a-jwt' } }))).code, 'TOKEN_INVALID');
  });

  test('a signed session cookie', async () => {
    const cookie = await signToken(COOKIE_SECRET, 'frank', { org: 'acme' }, 60);
    const client = await connect(gw.wsUrl, { headers: { cookie: `other=1; wsgate_session=${cookie}` } });
    assert.equal(client.welcome!.user, 'frank');
    await client.close();
  });

  test('no credential and anonymous access off: 401 AUTH_REQUIRED', async () => {
    const error = await refused(open(gw.wsUrl));
    assert.equal(error.status, 401);
    assert.equal(error.code, 'AUTH_REQUIRED');
  });

  test('a session whose JWT expires is closed with 4004 and told to reconnect', async () => {
    const token = await signToken(JWT_SECRET, 'gina', {}, 2);
    const client = await connect(gw.wsUrl, { token });
    const disconnect = await client.next('disconnect', () => true, 5_000);
    assert.equal(disconnect.code, 4004);
    assert.equal(disconnect.reconnect, true);
    assert.equal((await client.closed).code, 4004);
  });

  test('no refused handshake consumes the ticket it carried, whatever it was refused for', async () => {
    const ticket = await mintTicket(gw, 'alice');
    const target = `/ws?ticket=${ticket}`;
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\n';
    const version = 'Sec-WebSocket-Version: 13\r\n';
    const refusals: Array<[what: string, request: string, status: number]> = [
      ['an unknown WebSocket version', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}Sec-WebSocket-Version: 99\r\n\r\n`, 400],
      ['no WebSocket version', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}\r\n`, 400],
      ['the wrong method', `POST ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}Content-Length: 0\r\n\r\n`, 405],
      ['no key', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${version}\r\n`, 400],
      ['a malformed key', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}Sec-WebSocket-Key: short\r\n${version}\r\n`, 400],
      ['another protocol upgrade', `GET ${target} HTTP/1.1\r\nHost: gw\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n${key}${version}\r\n`, 400],
      ['a malformed subprotocol list', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}Sec-WebSocket-Protocol: wsgate.v1.json,,\r\n\r\n`, 400],
      ['an unknown subprotocol', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}Sec-WebSocket-Protocol: mqtt\r\n\r\n`, 400],
      ['a foreign origin', `GET ${target} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}Origin: http://evil.example\r\n\r\n`, 403],
      ['another path', `GET /wsx?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}\r\n`, 404],
      ['a malformed target', `GET //[x/ws?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n${upgrade}${key}${version}\r\n`, 400],
    ];
    for (const [what, request, status] of refusals) {
      const answer = await rawExchange(gw.port, request);
      assert.equal(statusOf(answer), status, `${what}: ${answer}`);
      assert.match(answer, /X-Wsgate-Error: [A-Z_]+/, `${what}: answered from the catalogue`);
    }
    const client = await connect(gw.wsUrl, { ticket });
    assert.equal(client.welcome!.user, 'alice', 'the corrected retry gets in with the same ticket');
    await client.close();
  });

  test('the 101 and the welcome leave the server in one write', async () => {
    // Every write the upgraded socket makes, counted where the stream hands it to the kernel: chunks per write.
    const writes: number[] = [];
    const countWrites = (_req: IncomingMessage, socket: Duplex): void => {
      const stream = socket as Duplex & { _writev(chunks: unknown[], cb: () => void): void };
      const write = stream._write.bind(stream);
      const writev = stream._writev.bind(stream);
      stream._write = (chunk, encoding, cb) => {
        writes.push(1);
        write(chunk, encoding, cb);
      };
      stream._writev = (chunks, cb) => {
        writes.push(chunks.length);
        writev(chunks, cb);
      };
    };
    const server = gw.gateway.http.server;
    server.prependListener('upgrade', countWrites);
    try {
      const client = await connect(gw.wsUrl, { ticket: await mintTicket(gw, 'alice') });
      assert.deepEqual(writes, [2], 'one write carrying two chunks: the 101 and the welcome');
      await client.close();
    } finally {
      server.off('upgrade', countWrites);
    }
  });

  test('a path other than /ws is not upgraded', async () => {
    const error = await refused(open(gw.wsUrl.replace('/ws', '/other')));
    assert.equal(error.status, 404);
  });
});

test('what only ws checks (a malformed permessage-deflate offer) is refused before the ticket is taken too', async () => {
  const gw = await startGateway({ ws: { perMessageDeflate: true } });
  try {
    const ticket = await mintTicket(gw, 'alice');
    const answer = await rawExchange(gw.port, `GET /ws?ticket=${ticket} HTTP/1.1\r\nHost: gw\r\n${UPGRADE_HEADERS}` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n\r\n');
    assert.equal(statusOf(answer), 400, answer);
    const client = await connect(gw.wsUrl, { ticket });
    assert.equal(client.welcome!.user, 'alice');
    await client.close();
  } finally {
    await gw.stop();
  }
});

describe('anonymous access', () => {
  test('allowed by config: welcome with user null', async () => {
    const gw = await startGateway();
    try {
      const client = await connect(gw.wsUrl);
      assert.equal(client.welcome!.user, null);
      await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('browser flow: dev login sets a cookie that POST /auth/ticket exchanges for a ticket', async () => {
    const gw = await startGateway({ auth: { devLogin: true } });
    try {
      const login = await fetch(`${gw.httpUrl}/auth/dev-login`, {
        method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://app.example' },
        body: JSON.stringify({ user: 'hana', claims: { org: 'acme' } }),
      });
      assert.equal(login.status, 200);
      const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
      assert.match(login.headers.get('set-cookie')!, /HttpOnly/i);
      const foreign = await fetch(`${gw.httpUrl}/auth/ticket`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' } });
      assert.equal(foreign.status, 403);
      const minted = await fetch(`${gw.httpUrl}/auth/ticket`, { method: 'POST', headers: { cookie, origin: 'http://app.example' } });
      assert.equal(minted.status, 200);
      const { ticket } = (await minted.json()) as { ticket: string };
      const client = await connect(gw.wsUrl, { ticket });
      assert.equal(client.welcome!.user, 'hana');
      await client.close();
      const noCookie = await fetch(`${gw.httpUrl}/auth/ticket`, { method: 'POST' });
      assert.equal(noCookie.status, 401);
    } finally {
      await gw.stop();
    }
  });
});

describe('default origin allowlist', () => {
  test('allows the gateway\'s own origin on the port it actually bound', async () => {
    const gw = await startGateway({ allowedOrigins: [] });
    try {
      const own = await connect(gw.wsUrl, { origin: `http://localhost:${gw.port}` });
      await own.close();
      const other = await refused(open(gw.wsUrl, { origin: `http://localhost:${gw.port + 1}` }));
      assert.equal(other.code, 'ORIGIN_FORBIDDEN');
    } finally {
      await gw.stop();
    }
  });
});
