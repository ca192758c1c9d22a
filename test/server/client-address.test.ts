import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTcp, type Socket } from 'node:net';
import { Command, INETProtocol, IPv4Address, IPv4ProxyAddress, IPv6Address, IPv6ProxyAddress, Peer, TransportProtocol, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { waitFor } from '../support/wait.js';

/** The address the registry recorded for the user's only session (read in process: HTTP from 127.0.0.1 may need a PROXY header). */
async function recordedIp(gw: RunningGateway, user: string): Promise<string | undefined> {
  const sessions = await gw.gateway.engine.registry.getUserSessions(user);
  assert.equal(sessions.length, 1, JSON.stringify(sessions));
  return sessions[0]!.client.ip;
}

async function ticketFor(gw: RunningGateway, user: string): Promise<string> {
  return (await gw.gateway.tickets.mint(user, {})).ticket;
}

async function connectVia(gw: RunningGateway, user: string, headers: Record<string, string>): Promise<TestClient> {
  return connect(gw.wsUrl, { ticket: await ticketFor(gw, user), headers });
}

/** A WebSocket whose TCP connection starts with `preamble` (a PROXY header), as a load balancer's would. */
async function connectWithPreamble(gw: RunningGateway, user: string, preamble: Uint8Array | string): Promise<TestClient> {
  return connect(gw.wsUrl, {
    ticket: await ticketFor(gw, user),
    socket: {
      createConnection: () => {
        const socket = connectTcp(gw.port, '127.0.0.1');
        socket.write(preamble);
        return socket;
      },
    },
  });
}

/** Raw bytes to the node; resolves with everything it answered before closing. */
function rawExchange(gw: RunningGateway, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket: Socket = connectTcp(gw.port, '127.0.0.1', () => socket.end(bytes));
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const v1 = (source: string) => new V1ProxyProtocol(INETProtocol.TCP4, new Peer(source, 40_000), new Peer('127.0.0.1', 8080)).build();

describe('real client addresses', () => {
  test('X-Forwarded-For counts only from trusted proxies, walked from the right past every trusted hop', async () => {
    const trusting = await startGateway({ proxy: { trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'] } });
    const naive = await startGateway({});
    try {
      const a = await connectVia(trusting, 'a', { 'x-forwarded-for': '6.6.6.6, 203.0.113.5, 10.1.2.3' });
      assert.equal(await recordedIp(trusting, 'a'), '203.0.113.5', 'the client forged 6.6.6.6; the first untrusted hop is the truth');
      const b = await connectVia(naive, 'b', { 'x-forwarded-for': '203.0.113.5' });
      assert.equal(await recordedIp(naive, 'b'), '127.0.0.1', 'no trusted proxies: the header is ignored');
      const c = await connectVia(trusting, 'c', { 'x-forwarded-for': 'not-an-address, 10.0.0.7' });
      assert.equal(await recordedIp(trusting, 'c'), '10.0.0.7', 'the walk stops at a hop that is not an address');
      for (const client of [a, b, c]) await client.close();
    } finally {
      await Promise.all([trusting.stop(), naive.stop()]);
    }
  });

  test('the Forwarded header (RFC 7239) where the proxies use it', async () => {
    const gw = await startGateway({ proxy: { trustedProxies: ['127.0.0.1'], header: 'forwarded' } });
    try {
      const a = await connectVia(gw, 'a', { forwarded: 'for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"', 'x-forwarded-for': '6.6.6.6' });
      assert.equal(await recordedIp(gw, 'a'), '2001:db8:cafe::17');
      const b = await connectVia(gw, 'b', { forwarded: 'for=unknown' });
      assert.equal(await recordedIp(gw, 'b'), '127.0.0.1', 'an obfuscated hop leaves the proxy\'s address');
      for (const client of [a, b]) await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('open connections per address are capped (429 CONNECTION_LIMIT); the connect rate counts per real address', async () => {
    const gw = await startGateway({ proxy: { trustedProxies: ['127.0.0.1'] }, limits: { maxConnectionsPerIp: 2, connectRate: 0.01, connectBurst: 4 } });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    try {
      const first = await connect(gw.wsUrl, { headers: from('203.0.113.1') });
      const second = await connect(gw.wsUrl, { headers: from('203.0.113.1') });
      const refused = await open(gw.wsUrl, { headers: from('203.0.113.1') }).then(() => assert.fail('a third connection'), (error: HandshakeRefused) => error);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, 'CONNECTION_LIMIT');
      const other = await connect(gw.wsUrl, { headers: from('203.0.113.2') });
      await first.close();
      // The slot frees with the node's side of the socket, before the session's cleanup that this awaits.
      await waitFor(() => gw.gateway.hub.sessions.size === 2, 3_000, 'the closed session cleaned up');
      const third = await connect(gw.wsUrl, { headers: from('203.0.113.1') });
      // That was the fourth handshake from .1: its connect bucket (burst 4) is now empty, .2's is not.
      await second.close();
      await waitFor(() => gw.gateway.hub.sessions.size === 2, 3_000, 'the closed session cleaned up');
      const rate = await open(gw.wsUrl, { headers: from('203.0.113.1') }).then(() => assert.fail('over the connect rate'), (error: HandshakeRefused) => error);
      assert.equal(rate.code, 'CONNECTION_RATE_LIMITED');
      const fine = await connect(gw.wsUrl, { headers: from('203.0.113.2') });
      const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
      assert.match(metrics, /wsgate_handshake_failures_total\{reason="CONNECTION_LIMIT"\} 1/);
      for (const client of [other, third, fine]) await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('PROXY protocol v1 and v2 from a trusted peer give the client address; no header from it: dropped', async () => {
    const gw = await startGateway({ proxy: { trustedProxies: ['127.0.0.1'], protocol: true } });
    try {
      const a = await connectWithPreamble(gw, 'a', v1('198.51.100.44'));
      assert.equal(await recordedIp(gw, 'a'), '198.51.100.44');
      const ipv4 = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv4ProxyAddress(IPv4Address.createFrom([192, 0, 2, 9]), 1234, IPv4Address.createFrom([127, 0, 0, 1]), 80));
      const b = await connectWithPreamble(gw, 'b', ipv4.build());
      assert.equal(await recordedIp(gw, 'b'), '192.0.2.9');
      const six = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x44];
      const ipv6 = new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, new IPv6ProxyAddress(IPv6Address.createFrom(six), 1, IPv6Address.createFrom(six), 2));
      const c = await connectWithPreamble(gw, 'c', ipv6.build());
      assert.equal(await recordedIp(gw, 'c'), '2001:db8::44');

      // A LOCAL header (the proxy's own health check) keeps the peer's address; the request behind it is served.
      const local = new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new IPv4ProxyAddress(IPv4Address.createFrom([0, 0, 0, 0]), 0, IPv4Address.createFrom([0, 0, 0, 0]), 0)).build();
      const health = await rawExchange(gw, Buffer.concat([Buffer.from(local), Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
      assert.match(health, /^HTTP\/1.1 200/);
      // A header that trickles in byte by byte is framed exactly: the request right behind it is intact.
      const trickled = await new Promise<string>((resolve, reject) => {
        const bytes = Buffer.concat([Buffer.from(ipv4.build()), Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]);
        let answer = '';
        const socket = connectTcp(gw.port, '127.0.0.1', async () => {
          for (let i = 0; i < 30; i++) {
            socket.write(bytes.subarray(i, i + 1));
            await new Promise((done) => setImmediate(done));
          }
          socket.end(bytes.subarray(30));
        });
        socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
      assert.match(trickled, /^HTTP\/1.1 200/);
      // A trusted peer that sends no header (or a broken one) is refused: its bytes are never taken for a client's.
      assert.equal(await rawExchange(gw, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), '');
      assert.equal(await rawExchange(gw, 'PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\nGET /healthz HTTP/1.1\r\n\r\n'), '');
      const metrics = await (await fetch(`${gw.httpUrl}/metrics`).catch(() => null))?.text();
      assert.equal(metrics, undefined, 'plain requests from the trusted address are dropped too');
      for (const client of [a, b, c]) await client.close();
    } finally {
      await gw.stop();
    }
  });

  test('from an untrusted peer a PROXY header is not believed: it is just a bad request', async () => {
    const gw = await startGateway({ proxy: { trustedProxies: ['10.0.0.0/8'], protocol: true } });
    try {
      const answer = await rawExchange(gw, `${v1('198.51.100.44')}GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.match(answer, /^HTTP\/1.1 400/);
      const plain = await connect(gw.wsUrl, { ticket: await ticketFor(gw, 'p') });
      assert.equal(await recordedIp(gw, 'p'), '127.0.0.1');
      await plain.close();
    } finally {
      await gw.stop();
    }
  });
});
