/**
 * The bound on handshakes in progress per node (`limits.maxHandshakes`) and on their age (`limits.handshakeTimeoutMs`):
 * over the bound a handshake gets 503 NODE_BUSY with Retry-After before any work is done for it; a place frees once
 * the session is welcomed, refused or abandoned; a handshake whose client left, or that outlived its age bound, never
 * becomes a registered session.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { HandshakeAdmission } from '../../src/server/limits/handshake-admission.js';
import { open } from '../helpers/client.js';
import { mintTicket, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { rawConnection, rawExchange, statusOf, UPGRADE_HEADERS } from '../helpers/raw-http.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedis } from '../support/servers.js';
import { waitFor, within } from '../support/wait.js';

const run = promisify(execFile);

/** The application's session backend for the connect hook: each call waits until the test answers it. */
class HeldBackend {
  readonly held: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response) => {
      request.resume();
      request.on('end', () => this.held.push(response));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/wsgate/connect`;
  }

  answer(index: number, status: number, body?: unknown): void {
    this.held[index]!.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? '' : JSON.stringify(body));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const upgradeRequest = (query = ''): string =>
  `GET /ws${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_HEADERS}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wsgate.v1.json\r\n\r\n`;

async function metric(running: RunningGateway, pattern: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${running.httpUrl}/metrics`)).text();
  return pattern.exec(text)?.[1];
}

const inProgress = (running: RunningGateway): Promise<string | undefined> => metric(running, /^wsgate_handshakes_in_progress (\S+)$/m);

async function waitForInProgress(running: RunningGateway, expected: number, what: string): Promise<void> {
  let last: string | undefined;
  await waitFor(async () => (last = await inProgress(running)) === String(expected), 5_000, `${what} (in progress: ${last})`);
}

describe('handshakes in progress per node', () => {
  test('over the bound: 503 NODE_BUSY with Retry-After, before the connect hook is asked; places free on welcome, refusal and abandon', async () => {
    const backend = new HeldBackend();
    await backend.start();
    const running = await startGateway({
      auth: { anonymous: false, connectHook: { url: backend.url, apiKey: 'hook-key', timeoutMs: 10_000 } },
      limits: { maxHandshakes: 2 },
    });
    try {
      // The connect hook upgrades first and decides afterwards: both handshakes stay in progress until it answers.
      const first = await open(running.wsUrl);
      const second = await open(running.wsUrl);
      await waitFor(() => backend.held.length === 2, 5_000, 'both hook calls');
      assert.equal(await inProgress(running), '2');

      const answer = await rawExchange(running.port, upgradeRequest());
      assert.equal(statusOf(answer), 503);
      assert.match(answer, /\r\nRetry-After: 1\r\n/);
      assert.match(answer, /\r\nX-Wsgate-Error: NODE_BUSY\r\n/);
      assert.equal(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).code, 'NODE_BUSY');
      assert.match((await metric(running, /^(wsgate_handshake_failures_total\{reason="NODE_BUSY"\} \d+)$/m)) ?? '', / 1$/);

      // Welcomed: its place frees.
      backend.answer(0, 200, { user: 'alice' });
      await within(first.seen('welcome'), 5_000, 'the first welcome');
      await waitForInProgress(running, 1, 'the welcomed handshake to leave');
      const third = await open(running.wsUrl);
      await waitFor(() => backend.held.length === 3, 5_000, 'the third hook call');

      // Refused by the backend: its place frees.
      backend.answer(1, 403, { reason: 'no' });
      assert.equal((await within(second.closed, 5_000, 'the refusal')).code, 4503);
      await waitForInProgress(running, 1, 'the refused handshake to leave');

      // Abandoned by its client while the backend decides: its place frees at once, and the backend's late yes
      // registers nothing.
      third.ws.terminate();
      await waitForInProgress(running, 0, 'the abandoned handshake to leave');
      backend.answer(2, 200, { user: 'carol' });
      const fourth = await open(running.wsUrl);
      await waitFor(() => backend.held.length === 4, 5_000, 'the fourth hook call');
      backend.answer(3, 200, { user: 'dave' });
      await within(fourth.seen('welcome'), 5_000, 'the fourth welcome');
      assert.deepEqual([...running.gateway.hub.sessions.values()].map((session) => session.user).sort(), ['alice', 'dave']);
      await first.close();
      await fourth.close();
    } finally {
      await running.stop();
      await backend.stop();
    }
  });

  test('a client that leaves while its ticket is redeemed, and a handshake past its age bound, register nothing', async () => {
    const redis = await startRedis();
    const running = await startGateway({
      engine: { kind: 'redis', redisUrls: [redis.url], prefix: uniquePrefix('admission') },
      limits: { maxHandshakes: 1, handshakeTimeoutMs: 400 },
    });
    const pauseWrites = () => run('redis-cli', ['-p', String(redis.port), 'CLIENT', 'PAUSE', '10000', 'WRITE']);
    const unpause = () => run('redis-cli', ['-p', String(redis.port), 'CLIENT', 'UNPAUSE']);
    try {
      // The client leaves while its ticket's GETDEL waits in Redis.
      const left = await mintTicket(running, 'leaver');
      await pauseWrites();
      const leaving = await rawConnection(running.port);
      leaving.socket.write(upgradeRequest(`?ticket=${left}`));
      await waitForInProgress(running, 1, 'the handshake to wait for its ticket');
      // The bound holds while it waits.
      assert.equal(statusOf(await rawExchange(running.port, upgradeRequest())), 503);
      leaving.socket.destroy();
      await waitForInProgress(running, 0, 'the abandoned handshake to leave');

      // The next waits longer than handshakeTimeoutMs: the node ends it.
      const aged = await rawConnection(running.port);
      aged.socket.write(upgradeRequest('?ticket=unknown-ticket-0123456789'));
      const closed = await within(aged.closed, 5_000, 'the node to end the aged handshake');
      assert.ok(closed.afterMs >= 350, `ended after ${closed.afterMs} ms`);
      assert.equal(closed.data, '', 'nothing was answered');
      await waitForInProgress(running, 0, 'the aged handshake to leave');

      await unpause();
      // The first GETDEL ran before this one on the node's connection: by its answer the first handshake is done.
      const retried = await rawExchange(running.port, upgradeRequest(`?ticket=${left}`));
      assert.equal(statusOf(retried), 401, 'the abandoned handshake did take its ticket');
      assert.equal(running.gateway.hub.sessions.size, 0);
      assert.deepEqual(await running.gateway.engine.registry.getNodeSessions(running.gateway.nodeId), []);
      assert.equal(await metric(running, /^wsgate_connections_total\{[^}]*\} (\S+)$/m), undefined, 'no session was accepted');
    } finally {
      await unpause().catch(() => {});
      await running.stop();
      await redis.stop();
    }
  });
});

describe('a handshake place and its connection', () => {
  test('once released, the connection holds nothing of the place: no close listener, no timer that would end it', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const admission = new HandshakeAdmission(2, 10_000);
    let destroyed = 0;
    const connection = Object.assign(new EventEmitter(), { destroy: () => void destroyed++ });
    const slot = admission.enter(connection)!;
    assert.equal(connection.listenerCount('close'), 1);
    assert.equal(admission.inProgress, 1);
    slot.release();
    assert.equal(connection.listenerCount('close'), 0, 'a long-lived connection keeps no listener of its handshake');
    t.mock.timers.tick(10_000);
    assert.equal(destroyed, 0, 'the age bound no longer applies');
    connection.emit('close');
    assert.equal(admission.inProgress, 0, 'released once, not again at close');
  });

  test('a connection that closes mid-handshake frees its place; one that outlives the age bound is ended', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const admission = new HandshakeAdmission(1, 10_000);
    const connect = (): EventEmitter & { destroy(): void } => {
      const connection = new EventEmitter() as EventEmitter & { destroy(): void };
      connection.destroy = () => connection.emit('close');
      return connection;
    };
    const left = connect();
    assert.ok(admission.enter(left));
    assert.equal(admission.enter(connect()), null, 'the bound holds');
    left.emit('close');
    const stuck = connect();
    assert.ok(admission.enter(stuck), 'the place came back with the close');
    t.mock.timers.tick(10_000);
    assert.equal(admission.inProgress, 0, 'ended at the age bound, which released the place');
  });
});
