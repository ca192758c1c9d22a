/**
 * The edge in front of the nodes, with real processes: HAProxy sending PROXY v2 headers (`send-proxy-v2`), HAProxy
 * terminating TLS, and a node terminating TLS itself with its certificate reloaded on SIGHUP. Certificates are
 * self-signed, made by the openssl CLI for the test.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { makeCertificate, type TestCertificate } from '../support/certificates.js';
import { waitFor } from '../support/wait.js';
import { startHaproxy } from './support/haproxy.js';
import { startNode, type NodeProcess } from './support/node.js';

let dir: string;
let cert: TestCertificate;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wsgate-edge-'));
  cert = await makeCertificate(dir, 'edge');
});
after(() => rm(dir, { recursive: true, force: true }));

const NAMESPACES = { chat: { publish: true } };

/** The address the node's registry holds for the user's one session. */
async function recordedIp(node: NodeProcess, user: string): Promise<string> {
  const { body } = await node.api('GET', `/api/users/${user}`);
  const sessions = (body as { sessions: Array<{ client: { ip: string } }> }).sessions;
  assert.equal(sessions.length, 1, JSON.stringify(body));
  return sessions[0]!.client.ip;
}

/** Connects from a chosen loopback address (127.0.0.0/8 is all ours), so HAProxy sees distinct clients. */
function from(localAddress: string, extra: Record<string, unknown> = {}) {
  return { localAddress, ...extra };
}

describe('HAProxy with send-proxy-v2 in front of a node', { timeout: 60_000 }, () => {
  let node: NodeProcess;
  let balancer: Awaited<ReturnType<typeof startHaproxy>>;
  before(async () => {
    // HAProxy connects from 127.0.0.1, the one trusted address; the test's own API calls come from 127.0.0.10, an
    // untrusted peer that needs no PROXY header.
    node = await startNode({
      nodeId: 'edge-proxy',
      auth: { anonymous: true },
      namespaces: NAMESPACES,
      proxy: { trustedProxies: ['127.0.0.1'], protocol: true },
      limits: { maxConnectionsPerIp: 2 },
    }, 15_000, { localAddress: '127.0.0.10' });
    balancer = await startHaproxy([node], '300ms', { sendProxy: true });
  });
  after(async () => {
    await balancer?.stop();
    await node?.kill();
  });

  test('the node sees each client\'s own address, never a header the client forged', async () => {
    const alice = await connect(balancer.wsUrl, { ticket: await node.mintTicket('alice'), socket: from('127.0.0.2'), headers: { 'x-forwarded-for': '6.6.6.6' } });
    assert.equal(await recordedIp(node, 'alice'), '127.0.0.2');
    const bob = await connect(balancer.wsUrl, { ticket: await node.mintTicket('bob'), socket: from('127.0.0.3') });
    assert.equal(await recordedIp(node, 'bob'), '127.0.0.3');
    for (const client of [alice, bob]) await client.close();
  });

  test('the per-address cap holds per client behind the balancer', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 2; i++) clients.push(await connect(balancer.wsUrl, { socket: from('127.0.0.4') }));
    const refused = await open(balancer.wsUrl, { socket: from('127.0.0.4') }).then(() => assert.fail('a third connection from one address'), (error: HandshakeRefused) => error);
    assert.equal(refused.status, 429);
    assert.equal(refused.code, 'CONNECTION_LIMIT');
    clients.push(await connect(balancer.wsUrl, { socket: from('127.0.0.5') }));
    for (const client of clients) await client.close();
  });

  test('a connection that reaches the node around the balancer, without a PROXY header, is dropped', async () => {
    await assert.rejects(fetch(`${node.httpUrl}/healthz`));
    assert.equal(balancer.output().includes('DOWN'), false, 'health checks (which carry the header) keep the node UP');
  });
});

describe('TLS terminated by HAProxy (bind ... ssl crt)', { timeout: 60_000 }, () => {
  let node: NodeProcess;
  let balancer: Awaited<ReturnType<typeof startHaproxy>>;
  before(async () => {
    node = await startNode({ nodeId: 'edge-haproxy-tls', auth: { anonymous: true }, namespaces: NAMESPACES });
    balancer = await startHaproxy([node], '300ms', { tlsCert: cert.pemFile });
  });
  after(async () => {
    await balancer?.stop();
    await node?.kill();
  });

  test('wss:// through HAProxy reaches a plain node: handshake, subscribe, publish', async () => {
    assert.match(balancer.wsUrl, /^wss:/);
    const [a, b] = [await connect(balancer.wsUrl, { socket: { ca: cert.cert } }), await connect(balancer.wsUrl, { socket: { ca: cert.cert } })];
    const peer = (a.ws as unknown as { _socket: TLSSocket })._socket.getPeerCertificate();
    assert.equal(peer.fingerprint256, cert.fingerprint256, 'HAProxy presents the test certificate');
    assert.equal((a.ws as unknown as { _socket: TLSSocket })._socket.alpnProtocol, false, 'HTTP/1.1 upgrade, no ALPN h2');
    await b.subscribe('chat:tls');
    const message = b.next('message');
    assert.equal((await a.request({ type: 'publish', channel: 'chat:tls', data: 'over tls' })).type, 'published');
    assert.equal((await message).data, 'over tls');
    await assert.rejects(connect(balancer.wsUrl), /self-signed|certificate/i, 'an untrusted certificate is refused by default');
    for (const client of [a, b]) await client.close();
  });
});

describe('TLS terminated by the node, reloaded on SIGHUP', { timeout: 60_000 }, () => {
  let node: NodeProcess;
  let live: { cert: string; key: string };
  before(async () => {
    live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    await copyFile(cert.certFile, live.cert);
    await copyFile(cert.keyFile, live.key);
    node = await startNode({ nodeId: 'edge-node-tls', auth: { anonymous: true }, namespaces: NAMESPACES, tls: live });
  });
  after(() => node?.kill());

  test('wss:// to the node; after SIGHUP new connections get the new certificate and open sessions stay', async () => {
    assert.match(node.wsUrl, /^wss:/);
    const renewed = await makeCertificate(dir, 'renewed');
    const trust = { ca: [cert.cert, renewed.cert] };
    const before = await connect(node.wsUrl, { socket: trust });
    const certOf = (client: TestClient) => (client.ws as unknown as { _socket: TLSSocket })._socket.getPeerCertificate().fingerprint256;
    assert.equal(certOf(before), cert.fingerprint256);
    await before.subscribe('chat:reload');

    await copyFile(renewed.certFile, live.cert);
    await copyFile(renewed.keyFile, live.key);
    process.kill(node.pid, 'SIGHUP');
    await waitFor(() => node.output().includes('TLS certificate reloaded'), 5_000, 'the reload log line');
    const after = await connect(node.wsUrl, { socket: trust });
    assert.equal(certOf(after), renewed.fingerprint256);
    assert.notEqual(new X509Certificate(renewed.cert).serialNumber, new X509Certificate(cert.cert).serialNumber);

    // The session opened before the reload still works.
    const message = before.next('message');
    assert.equal((await after.request({ type: 'publish', channel: 'chat:reload', data: 'still here' })).type, 'published');
    assert.equal((await message).data, 'still here');

    // A broken file: the node says so and keeps serving the certificate it has.
    await writeFile(live.key, 'not a key');
    process.kill(node.pid, 'SIGHUP');
    await waitFor(() => node.output().includes('TLS reload failed'), 5_000, 'the failed reload log line');
    const third = await connect(node.wsUrl, { socket: trust });
    assert.equal(certOf(third), renewed.fingerprint256);
    for (const client of [before, after, third]) await client.close();
  });
});
