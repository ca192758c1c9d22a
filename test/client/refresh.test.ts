/**
 * The SDK refreshes credentials by itself against the real gateway: over several short token lifetimes the connection
 * is never closed or reopened and no publication is lost; failures are reported as `credential` statuses and end in
 * the ordinary reconnect; subscription tokens refresh the same way.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { type ClientStatus, type CredentialStatus, type Publication, WsgateClient, type WsgateClientOptions } from '../../src/client/index.js';
import { API_KEY, JWT_SECRET, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { deferred, within } from '../support/wait.js';

const secret = new TextEncoder().encode(JWT_SECRET);

/** A JWT expiring `ttlMs` from now (whole seconds, rounded down). */
function jwt(user: string, ttlMs: number, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime(Math.floor((Date.now() + ttlMs) / 1000)).sign(secret);
}

/** Everything a client reports, kept in order. */
class Recorder {
  readonly statuses: ClientStatus[] = [];
  readonly credentials: CredentialStatus[] = [];
  private waiters: Array<{ match: () => boolean; resolve: () => void }> = [];

  constructor(client: WsgateClient) {
    client.on('status', (status) => this.push(this.statuses, status));
    client.on('credential', (status) => this.push(this.credentials, status));
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    for (const waiter of [...this.waiters]) if (waiter.match()) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  until(match: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (match()) return Promise.resolve();
    const done = deferred();
    this.waiters.push({ match, resolve: done.resolve });
    return within(done.promise, timeoutMs, what);
  }

  count(type: CredentialStatus['type'], channel?: string): number {
    return this.credentials.filter((status) => status.type === type && status.channel === channel).length;
  }
}

/** Publishes through the server API every few ms until stopped; resolves with how many it published. */
function publishLoop(running: RunningGateway, channel: string): { stop(): Promise<number> } {
  let published = 0;
  let running_ = true;
  const loop = (async () => {
    while (running_) {
      const response = await fetch(`${running.httpUrl}/api/publish`, {
        method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: { n: published } }),
      });
      assert.equal(response.status, 200);
      published++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return published;
  })();
  return {
    stop() {
      running_ = false;
      return loop;
    },
  };
}

/** Every publication a subscription delivered must be the next offset: nothing lost, nothing twice. */
function assertGapless(publications: Publication[], published: number): void {
  assert.equal(publications.length, published, `${publications.length} of ${published} publications arrived`);
  for (let i = 1; i < publications.length; i++) assert.equal(publications[i]!.offset, publications[i - 1]!.offset + 1, `offset after ${publications[i - 1]!.offset}`);
  assert.deepEqual(publications.map((p) => (p.data as { n: number }).n), Array.from({ length: published }, (_, n) => n));
}

describe('SDK credential refresh against the real gateway', () => {
  let running: RunningGateway;
  const clients: WsgateClient[] = [];
  before(async () => {
    running = await startGateway({
      auth: { anonymous: false },
      namespaces: { live: { publish: true, history: { size: 1000 } }, vault: { private: true, history: { size: 1000 } } },
    });
  });
  after(() => running.stop());
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  function client(options: WsgateClientOptions): { client: WsgateClient; record: Recorder } {
    const made = new WsgateClient({ url: running.wsUrl, WebSocket, backoff: { minDelay: 50, maxDelay: 200 }, random: () => 0.5, ...options });
    clients.push(made);
    return { client: made, record: new Recorder(made) };
  }

  /** Subscribes, publishes until `refreshes` refreshes of `channel` (or the session) happened, checks the ledger. */
  async function runLifetimes(made: { client: WsgateClient; record: Recorder }, channel: string, refreshes: number, subscribeOptions = {}, refreshedChannel?: string): Promise<void> {
    const { client: sdk, record } = made;
    sdk.connect();
    const subscription = sdk.subscribe(channel, subscribeOptions);
    const publications: Publication[] = [];
    subscription.on('message', (publication) => publications.push(publication));
    await subscription.ready;
    const publisher = publishLoop(running, channel);
    await record.until(() => record.count('refreshed', refreshedChannel) >= refreshes, 15_000, `${refreshes} refreshes`);
    const published = await publisher.stop();
    await within((async () => {
      while (publications.length < published) await new Promise((resolve) => setTimeout(resolve, 10));
    })(), 5_000, 'the last publications');
    assertGapless(publications, published);
    assert.deepEqual(record.statuses.map((status) => status.type), ['connecting', 'connected'], 'never disconnected or reconnected');
    assert.equal(record.count('refresh-failed', refreshedChannel), 0);
    assert.equal(subscription.state, 'subscribed');
  }

  it('refreshes a JWT through getToken over several lifetimes: one connection, no publication lost', async () => {
    let tokens = 0;
    const made = client({ getToken: () => (tokens++, jwt('alice', 3_000)) });
    await runLifetimes(made, 'live:jwt', 3);
    assert.ok(tokens >= 4, `getToken called ${tokens} times`);
    assert.ok(made.record.count('refreshing') >= 3);
  });

  it('refreshes a ticket session through getTicket over several lifetimes', async () => {
    let tickets = 0;
    const made = client({
      async getTicket() {
        tickets++;
        const response = await fetch(`${running.httpUrl}/api/tickets`, {
          method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user: 'bob', sessionTtlSeconds: 2 }),
        });
        return ((await response.json()) as { ticket: string }).ticket;
      },
    });
    await runLifetimes(made, 'live:ticket', 3);
    assert.ok(tickets >= 4, `getTicket called ${tickets} times`);
  });

  it('refreshes subscription tokens through the subscription\'s getToken, without dropping the subscription', async () => {
    let grants = 0;
    const made = client({ getToken: () => jwt('carol', 600_000) });
    const getToken = (channel: string) => (grants++, new SignJWT({ channel }).setProtectedHeader({ alg: 'HS256' }).setSubject('carol')
      .setExpirationTime(Math.floor((Date.now() + 3_000) / 1000)).sign(secret));
    await runLifetimes(made, 'vault:room', 3, { getToken }, 'vault:room');
    assert.ok(grants >= 4, `subscription getToken called ${grants} times`);
  });

  it('reports failed refreshes with a retry, then reconnects with a fresh credential when the old one ran out', async () => {
    let calls = 0;
    let failing = false;
    const made = client({
      getToken: () => {
        calls++;
        if (failing) throw new Error('token service down');
        return jwt('dave', 2_000);
      },
      refreshJitter: 0,
    });
    made.client.connect();
    await made.record.until(() => made.client.status.type === 'connected', 5_000, 'connected');
    failing = true;
    await made.record.until(() => made.record.count('refresh-failed') >= 1, 3_000, 'a failed refresh');
    const failure = made.record.credentials.find((status) => status.type === 'refresh-failed') as Extract<CredentialStatus, { type: 'refresh-failed' }>;
    assert.equal(failure.error.code, 'CREDENTIAL_FAILED');
    assert.equal((failure.error.cause as Error).message, 'token service down');
    assert.ok(failure.expiresIn > 0);
    assert.ok(failure.retryIn !== null && failure.retryIn <= 200, `retryIn ${failure.retryIn}`);
    // Still failing at the deadline: the gateway closes with 4004 and the client reconnects once the token service is back.
    await made.record.until(() => made.record.statuses.some((status) => status.type === 'reconnecting'), 5_000, 'the reconnect after 4004');
    failing = false;
    await made.record.until(() => made.client.status.type === 'connected', 5_000, 'connected again');
    assert.ok(calls >= 3);
  });
});
