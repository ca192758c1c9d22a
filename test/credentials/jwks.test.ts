/**
 * JWKS over HTTPS: a test server with a generated certificate serves the public keys and rotates them. The gateway
 * caches the set, fetches it again for an unknown `kid` at most once per cooldown, drops removed keys when its cache
 * ages out, and fails closed (KEYS_UNAVAILABLE) when the set cannot be fetched or the server is not trusted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { generateCertificate, type Certificate } from '../support/tls.js';
import { waitFor } from '../support/wait.js';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey: privateKey as CryptoKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

function tokenSignedBy(key: SigningKey, user: string, kid = key.kid): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setSubject(user).setExpirationTime('5m').sign(key.privateKey);
}

/** The identity provider's key endpoint: what it serves can change, and it counts the fetches. */
class KeyServer {
  keys: JWK[] = [];
  status = 200;
  fetches = 0;
  private server!: Server;
  url = '';

  async start(certificate: Certificate): Promise<void> {
    this.server = createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
      this.fetches++;
      if (request.url !== '/.well-known/jwks.json' || this.status !== 200) {
        response.writeHead(this.status === 200 ? 404 : this.status).end('no');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function refusal(attempt: Promise<TestClient>): Promise<HandshakeRefused> {
  const error = await attempt.then(() => assert.fail('the handshake should be refused'), (e: unknown) => e);
  assert.ok(error instanceof HandshakeRefused, String(error));
  return error;
}

describe('JWKS over HTTPS', () => {
  let certificate: Certificate;
  const idp = new KeyServer();
  let gw: RunningGateway;
  let k1: SigningKey;
  let k2: SigningKey;
  const clients: TestClient[] = [];

  before(async () => {
    certificate = await generateCertificate();
    await idp.start(certificate);
    [k1, k2] = await Promise.all([signingKey('k1'), signingKey('k2')]);
    idp.keys = [k1.jwk];
    gw = await startGateway({
      auth: { anonymous: false, jwt: { secrets: [], jwksUrl: idp.url, jwksCaFile: certificate.certFile, jwksCacheSeconds: 3, jwksCooldownSeconds: 1 } },
    });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gw.stop();
    await idp.stop();
    await certificate.remove();
  });
  const track = (client: TestClient) => (clients.push(client), client);

  test('verifies tokens with fetched keys, fetching the set once for many handshakes', async () => {
    for (const user of ['alice', 'bob', 'carol']) {
      const client = track(await connect(gw.wsUrl, { token: await tokenSignedBy(k1, user) }));
      assert.equal(client.welcome!.user, user);
    }
    assert.equal(idp.fetches, 1);
  });

  test('a rotated-in key is fetched on its first token, and unknown kids fetch at most once per cooldown', async () => {
    const before = idp.fetches;
    idp.keys = [k1.jwk, k2.jwk];
    const burst = await Promise.allSettled(Array.from({ length: 10 }, async (_, index) => open(gw.wsUrl, { token: await tokenSignedBy(k2, `burst-${index}`, `unknown-${index}`) })));
    assert.ok(burst.every((result) => result.status === 'rejected' && (result.reason as HandshakeRefused).code === 'TOKEN_INVALID'), 'unknown kids are refused');
    assert.ok(idp.fetches - before <= 1, `${idp.fetches - before} fetches for 10 unknown kids`);
    // k2 is refused while the cooldown of the last fetch runs, then fetched: many tries, few fetches.
    let attempts = 0;
    let dave: TestClient | undefined;
    await waitFor(async () => {
      attempts++;
      dave = await connect(gw.wsUrl, { token: await tokenSignedBy(k2, 'dave') }).catch(() => undefined);
      return dave !== undefined;
    }, 8_000, 'k2 to verify');
    track(dave!);
    assert.ok(idp.fetches - before <= 2, `${idp.fetches - before} fetches for ${attempts + 10} handshakes`);
    // The rotated key refreshes a session opened with the old one, in band.
    const old = track(await connect(gw.wsUrl, { token: await tokenSignedBy(k1, 'erin') }));
    assert.equal((await old.request({ type: 'refresh', token: await tokenSignedBy(k2, 'erin') })).type, 'refreshed');
  });

  test('a key removed from the set stops verifying once the cache ages out', async () => {
    idp.keys = [k2.jwk];
    const fetched = idp.fetches;
    await waitFor(async () => {
      const result = await open(gw.wsUrl, { token: await tokenSignedBy(k1, 'frank') }).then((client) => (client.ws.terminate(), 'open'), (error: HandshakeRefused) => error.code);
      return result === 'TOKEN_INVALID';
    }, 8_000, 'k1 to be refused');
    assert.ok(idp.fetches > fetched);
    track(await connect(gw.wsUrl, { token: await tokenSignedBy(k2, 'frank') }));
  });

  test('fails closed with 503 KEYS_UNAVAILABLE when the set cannot be fetched, without a fetch per handshake', async () => {
    idp.status = 500;
    const fetched = idp.fetches;
    // Once the cache is stale, verification needs the set; the key server answers 500.
    await waitFor(async () => {
      const result = await open(gw.wsUrl, { token: await tokenSignedBy(k2, 'gina') }).then((client) => (client.ws.terminate(), 'open'), (error: HandshakeRefused) => error.code);
      return result === 'KEYS_UNAVAILABLE';
    }, 8_000, 'KEYS_UNAVAILABLE');
    const failedAt = idp.fetches;
    const burst = await Promise.all(Array.from({ length: 10 }, async () => refusal(open(gw.wsUrl, { token: await tokenSignedBy(k2, 'gina') }))));
    for (const error of burst) assert.deepEqual([error.status, error.code], [503, 'KEYS_UNAVAILABLE']);
    assert.ok(idp.fetches - failedAt <= 1, `${idp.fetches - failedAt} fetches for 10 handshakes right after a failure`);
    assert.ok(failedAt > fetched);
    idp.status = 200;
    await waitFor(async () => open(gw.wsUrl, { token: await tokenSignedBy(k2, 'gina') }).then((client) => (client.ws.terminate(), true), () => false), 8_000, 'the keys to be back');
  });

  test('a key server whose certificate is not trusted is as good as none', async () => {
    const untrusting = await startGateway({ auth: { anonymous: false, jwt: { secrets: [], jwksUrl: idp.url } } });
    try {
      const error = await refusal(open(untrusting.wsUrl, { token: await tokenSignedBy(k2, 'hana') }));
      assert.deepEqual([error.status, error.code], [503, 'KEYS_UNAVAILABLE']);
    } finally {
      await untrusting.stop();
    }
  });
});
