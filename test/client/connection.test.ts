import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CloseCode, WsgateClientError, type WsgateClient } from '../../src/client/index.js';
import { createClient, nextStatus, ScriptedGateway, ticketSource } from './scripted-gateway.js';

describe('client connection lifecycle', () => {
  let gateway: ScriptedGateway;
  const clients: WsgateClient[] = [];
  const track = <T extends { client: WsgateClient }>(made: T): T => (clients.push(made.client), made);

  beforeEach(async () => {
    gateway = await ScriptedGateway.start();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await gateway.close();
  });

  it('connects with a ticket, offers the subprotocol and reports connecting then connected', async () => {
    const tickets = ticketSource();
    const { client, statuses } = track(createClient(gateway.url, { getTicket: tickets.getTicket }));
    assert.deepEqual(client.status, { type: 'disconnected', code: 1000, reason: 'not connected' });
    const connected = nextStatus(client, 'connected');
    client.connect();
    const session = await gateway.nextSession();
    assert.equal(session.handshake.url.searchParams.get('ticket'), 't1');
    assert.equal(session.handshake.protocol, 'wsgate.v1.json');
    session.welcome('s1', 'alice');
    assert.deepEqual(await connected, { type: 'connected', session: 's1', user: 'alice', node: 'node-1', transport: 'websocket' });
    assert.deepEqual(
      statuses.map((s) => s.type),
      ['connecting', 'connected'],
    );
    assert.deepEqual(client.status, statuses.at(-1));
  });

  it('sends a JWT from getToken as ?token=', async () => {
    const { client } = track(createClient(gateway.url, { getToken: () => 'jwt-1' }));
    client.connect();
    const session = await gateway.nextSession();
    assert.equal(session.handshake.url.searchParams.get('token'), 'jwt-1');
    assert.equal(session.handshake.url.searchParams.has('ticket'), false);
  });

  for (const code of [CloseCode.KICKED, CloseCode.SESSION_LIMIT, CloseCode.UNAUTHORIZED]) {
    it(`stops for the terminal close code ${code} and reports it`, async () => {
      const tickets = ticketSource();
      const { client, statuses } = track(createClient(gateway.url, { getTicket: tickets.getTicket }));
      const connected = nextStatus(client, 'connected');
      client.connect();
      const session = await gateway.nextSession();
      session.welcome('s1');
      await connected;
      const disconnected = nextStatus(client, 'disconnected');
      session.disconnect(code, 'replaced by a newer session', false);
      assert.deepEqual(await disconnected, { type: 'disconnected', code, reason: 'replaced by a newer session' });
      // Reconnecting would have set `reconnecting` synchronously on close; the last status is final.
      assert.deepEqual(
        statuses.map((s) => s.type),
        ['connecting', 'connected', 'disconnected'],
      );
      assert.equal(tickets.calls(), 1);
      assert.equal(gateway.handshakes.length, 1);
    });
  }

  it('treats a terminal close without a disconnect frame the same way', async () => {
    const { client } = track(createClient(gateway.url));
    client.connect();
    const session = await gateway.nextSession();
    session.welcome('s1');
    await nextStatus(client, 'connected');
    const disconnected = nextStatus(client, 'disconnected');
    session.close(CloseCode.SERVER_DISCONNECT, 'banned');
    assert.deepEqual(await disconnected, { type: 'disconnected', code: 4500, reason: 'banned' });
  });

  it('reconnects after a reconnect code and fetches a fresh ticket', async () => {
    const tickets = ticketSource();
    const { client, statuses } = track(createClient(gateway.url, { getTicket: tickets.getTicket }));
    client.connect();
    const first = await gateway.nextSession();
    first.welcome('s1');
    await nextStatus(client, 'connected');

    const reconnected = nextStatus(client, 'connected');
    first.close(CloseCode.SERVER_RECONNECT, 'come back');
    const second = await gateway.nextSession();
    assert.equal(second.handshake.url.searchParams.get('ticket'), 't2');
    second.welcome('s2');
    assert.equal((await reconnected).session, 's2');
    assert.equal(tickets.calls(), 2);
    const reconnecting = statuses.find((s) => s.type === 'reconnecting');
    assert.ok(reconnecting && reconnecting.type === 'reconnecting');
    assert.equal(reconnecting.attempt, 1);
    assert.ok(reconnecting.delay >= 0 && reconnecting.delay <= 5);
    assert.deepEqual(
      statuses.map((s) => s.type),
      ['connecting', 'connected', 'reconnecting', 'connecting', 'connected'],
    );
  });

  it('waits at least the disconnect.after hint before reconnecting', async () => {
    const { client } = track(createClient(gateway.url, { backoff: { minDelay: 1, maxDelay: 1 } }));
    client.connect();
    const first = await gateway.nextSession();
    first.welcome('s1');
    await nextStatus(client, 'connected');

    const reconnecting = nextStatus(client, 'reconnecting');
    const closedAt = performance.now();
    first.disconnect(CloseCode.SERVICE_RESTART, 'draining', true, 300);
    assert.equal((await reconnecting).delay, 300);
    const second = await gateway.nextSession();
    // Measured from before the server closed, so client-side delays only add to it.
    assert.ok(second.handshake.at - closedAt >= 300, `reconnected after ${second.handshake.at - closedAt} ms`);
  });

  it('counts refused handshakes as attempts, backs off and asks for a new ticket each time', async () => {
    await gateway.close();
    let refusals = 2;
    gateway = await ScriptedGateway.start({ refuse: () => (refusals-- > 0 ? 401 : undefined) });
    const tickets = ticketSource();
    const { client, statuses } = track(createClient(gateway.url, { getTicket: tickets.getTicket }));
    const errors: WsgateClientError[] = [];
    client.on('error', (error) => errors.push(error));
    client.connect();
    const session = await gateway.nextSession();
    session.welcome('s1');
    await nextStatus(client, 'connected');
    assert.deepEqual(
      gateway.handshakes.map((h) => h.url.searchParams.get('ticket')),
      ['t1', 't2', 't3'],
    );
    assert.deepEqual(
      statuses.flatMap((s) => (s.type === 'reconnecting' ? [s.attempt] : [])),
      [1, 2],
    );
    assert.deepEqual(
      errors.map((e) => e.code),
      ['CONNECT_FAILED', 'CONNECT_FAILED'],
    );
  });

  it('after a 503 with Retry-After (NODE_BUSY) waits that long plus its jittered backoff, and says why', async () => {
    await gateway.close();
    let refusals = 1;
    gateway = await ScriptedGateway.start({
      refuse: () => (refusals-- > 0 ? { status: 503, headers: { 'Retry-After': '1', 'X-Wsgate-Error': 'NODE_BUSY' } } : undefined),
    });
    const { client } = track(createClient(gateway.url, { backoff: { minDelay: 50, maxDelay: 50 }, random: () => 0.5 }));
    const errors: WsgateClientError[] = [];
    client.on('error', (error) => errors.push(error));
    const reconnecting = nextStatus(client, 'reconnecting');
    client.connect();
    assert.equal((await reconnecting).delay, 1_025, 'Retry-After, then the jittered backoff on top');
    const session = await gateway.nextSession();
    assert.ok(session.handshake.at - gateway.handshakes[0]!.at >= 1_000, 'the retry came after Retry-After');
    session.welcome('s1');
    await nextStatus(client, 'connected');
    assert.equal((errors[0]?.cause as Error).message, 'Unexpected server response: 503 NODE_BUSY');
  });

  it('counts a failing ticket callback as an attempt', async () => {
    let calls = 0;
    const { client, statuses } = track(
      createClient(gateway.url, {
        getTicket: async () => {
          if (++calls === 1) throw new Error('auth backend down');
          return 'ok';
        },
      }),
    );
    const errors: WsgateClientError[] = [];
    client.on('error', (error) => errors.push(error));
    client.connect();
    const session = await gateway.nextSession();
    assert.equal(session.handshake.url.searchParams.get('ticket'), 'ok');
    session.welcome('s1');
    await nextStatus(client, 'connected');
    assert.equal(errors[0]?.code, 'CONNECT_FAILED');
    assert.equal((errors[0]?.cause as Error).message, 'auth backend down');
    assert.deepEqual(
      statuses.map((s) => s.type),
      ['connecting', 'reconnecting', 'connecting', 'connected'],
    );
  });

  it('gives up on an attempt that gets no welcome within connectTimeout', async () => {
    const { client } = track(createClient(gateway.url, { connectTimeout: 100 }));
    const failed = new Promise<WsgateClientError>((resolve) => client.once('error', resolve));
    client.connect();
    const silent = await gateway.nextSession();
    assert.match((await failed).message, /no welcome/);
    assert.equal(await silent.closed, 1000);
    const next = await gateway.nextSession();
    next.welcome('s2');
    assert.equal((await nextStatus(client, 'connected')).session, 's2');
  });

  it('disconnect() closes with 1000, stops reconnecting and rejects pending requests', async () => {
    const { client, statuses } = track(createClient(gateway.url));
    client.connect();
    const session = await gateway.nextSession();
    session.welcome('s1');
    await nextStatus(client, 'connected');
    const pending = client.request('orders.list', {});
    await session.expect('orders.list');
    client.disconnect();
    await assert.rejects(pending, { name: 'WsgateClientError', code: 'DISCONNECTED' });
    assert.equal(await session.closed, 1000);
    assert.deepEqual(statuses.at(-1), { type: 'disconnected', code: 1000, reason: 'client disconnected' });
    await assert.rejects(client.request('orders.list'), { code: 'DISCONNECTED' });
  });

  it('can connect again after a terminal close', async () => {
    const { client } = track(createClient(gateway.url));
    client.connect();
    const first = await gateway.nextSession();
    first.welcome('s1');
    await nextStatus(client, 'connected');
    first.disconnect(CloseCode.KICKED, 'kicked', false);
    await nextStatus(client, 'disconnected');
    client.connect();
    const second = await gateway.nextSession();
    second.welcome('s2');
    assert.equal((await nextStatus(client, 'connected')).session, 's2');
  });
});
