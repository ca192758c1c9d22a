/**
 * Webhook delivery on one node (memory engine) to real HTTP receivers that verify every request with the
 * `standardwebhooks` package: the event catalogue and its order per user and channel, retries that keep event ids,
 * timeouts, dead letters listed and replayed through the server API, overflow counted.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { connectAs } from '../helpers/client.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { testSecret, WebhookReceiver, type ReceivedEvent } from '../support/webhook-receiver.js';
import { waitFor } from '../support/wait.js';

const SECRET = testSecret('delivery-secret');

/** Fast retries: a dead letter within a second instead of ten minutes. */
const FAST = { initialDelayMs: 20, maxDelayMs: 100, periodMs: 1_000 };

async function gatewayFor(receiver: WebhookReceiver, endpoint: Record<string, unknown> = {}, webhooks: Record<string, unknown> = {}): Promise<RunningGateway> {
  return startGateway({
    namespaces: { chat: { presence: true, publish: true, history: { size: 10, ttlSeconds: 60 }, webhooks: { published: true } } },
    webhooks: {
      endpoints: [{ url: receiver.url, name: 'backend', secrets: [SECRET], lingerMs: 5, timeoutMs: 500, ...endpoint }],
      retry: FAST,
      pollIntervalMs: 20,
      ...webhooks,
    },
  } as never);
}

async function api(running: RunningGateway, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${running.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const typesOf = (events: ReceivedEvent[], key: (event: ReceivedEvent) => boolean) => events.filter(key).map((event) => event.type);
const forUser = (user: string) => (event: ReceivedEvent) => event.data.user === user && !event.type.startsWith('presence.') && !event.type.startsWith('channel.');
const forChannel = (channel: string) => (event: ReceivedEvent) => event.data.channel === channel;

describe('webhooks on one node', { timeout: 60_000 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function setup(answer?: ConstructorParameters<typeof WebhookReceiver>[1], endpoint?: Record<string, unknown>, webhooks?: Record<string, unknown>) {
    const receiver = await WebhookReceiver.start(SECRET, answer);
    const running = await gatewayFor(receiver, endpoint, webhooks);
    cleanups.push(() => receiver.stop(), () => running.stop());
    return { receiver, running };
  }

  test('a session’s life reports the catalogue, signed, in order per user and per channel', async () => {
    const { receiver, running } = await setup();
    const alice = await connectAs(running, 'alice');
    await alice.subscribe('chat:room');
    await alice.request({ type: 'publish', id: 2, channel: 'chat:room', data: { text: 'hello' } });
    await alice.close();
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'channel.vacated'), 5_000, 'channel.vacated');
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'user.offline'), 5_000, 'user.offline');
    const events = receiver.delivered();
    assert.deepEqual(receiver.rejected, []);
    assert.deepEqual(typesOf(events, forUser('alice')), ['user.online', 'session.connected', 'session.disconnected', 'user.offline']);
    assert.deepEqual(typesOf(events, forChannel('chat:room')), ['channel.occupied', 'presence.joined', 'channel.published', 'presence.left', 'channel.vacated']);
    const byType = Object.fromEntries(events.map((event) => [event.type, event]));
    for (const event of events) {
      assert.match(event.id, /^evt_[0-9a-z]{9}[0-9a-f]{18}$/);
      assert.equal(event.node, running.gateway.nodeId);
      assert.ok(Math.abs(Date.parse(event.timestamp) - Date.now()) < 60_000);
    }
    const session = alice.welcome!.session as string;
    assert.deepEqual(byType['user.online']!.data, { user: 'alice', session, seq: 1 });
    assert.deepEqual(byType['user.offline']!.data, { user: 'alice', session, seq: 2 });
    assert.deepEqual(byType['channel.occupied']!.data, { channel: 'chat:room', seq: 1 });
    assert.deepEqual(byType['channel.vacated']!.data, { channel: 'chat:room', seq: 2 });
    assert.deepEqual(byType['presence.joined']!.data, { channel: 'chat:room', user: 'alice', session, seq: 1 });
    assert.deepEqual(byType['presence.left']!.data, { channel: 'chat:room', user: 'alice', session, seq: 2 });
    assert.equal(byType['session.connected']!.data.auth, 'ticket');
    assert.deepEqual(byType['channel.published']!.data, { channel: 'chat:room', offset: 1, epoch: byType['channel.published']!.data.epoch, user: 'alice', session, data: { text: 'hello' } });
    assert.equal(byType['session.disconnected']!.data.code, 1000, 'the client closed normally');
    assert.equal(typeof byType['session.disconnected']!.data.durationMs, 'number');
    assert.equal(new Set(events.map((event) => event.id)).size, events.length, 'no duplicates without failures');
  });

  test('a session the policy replaces is reported evicted (policy-kick) before its end; the user stays online', async () => {
    const { receiver, running } = await setup();
    // The credential's sessionPolicy claim: one session at a time, the newest wins.
    const first = await connectAs(running, 'erin', { sessionPolicy: { max: 1, onLimit: 'kick-oldest' } });
    const second = await connectAs(running, 'erin', { sessionPolicy: { max: 1, onLimit: 'kick-oldest' } });
    assert.equal((await first.closed).code, 4501);
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'session.disconnected' && event.data.session === first.welcome!.session), 5_000, 'the kicked session’s end');
    const erin = receiver.delivered().filter(forUser('erin'));
    assert.deepEqual(erin.map((event) => event.type), ['user.online', 'session.connected', 'session.connected', 'session.evicted', 'session.disconnected']);
    assert.deepEqual(erin[3]!.data, { session: first.welcome!.session, user: 'erin', code: 4501, cause: 'policy-kick', reason: 'replaced by a newer session of the same user', client: erin[3]!.data.client });
    await second.close();
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'user.offline' && event.data.user === 'erin'), 5_000, 'erin offline once');
  });

  test('a failing endpoint gets the same batches (same webhook-id, same event ids) again until it takes them', async () => {
    const { receiver, running } = await setup(({ index }) => ({ status: index < 3 ? 500 : 204 }));
    const bob = await connectAs(running, 'bob');
    await bob.close();
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'user.offline'), 10_000, 'user.offline delivered');
    const failed = receiver.requests.filter((request) => request.status === 500);
    assert.equal(failed.length, 3);
    const deliveredIds = new Set(receiver.delivered().map((event) => event.id));
    for (const request of failed) for (const event of request.events) assert.ok(deliveredIds.has(event.id), 'a failed event is delivered later with its id');
    const first = receiver.requests[0]!;
    assert.deepEqual(receiver.requests[1]!.events.map((event) => event.id), first.events.map((event) => event.id), 'the retry carries the same events');
    assert.equal(receiver.requests[1]!.messageId, first.messageId);
    // Every duplicate is a retry of a request that failed.
    const counts = new Map<string, number>();
    for (const event of receiver.sent()) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
    for (const [id, count] of counts) {
      const failures = failed.filter((request) => request.events.some((event) => event.id === id)).length;
      assert.equal(count, failures + 1, `${id} was sent once more than it failed`);
    }
    const metrics = await (await fetch(`${running.httpUrl}/metrics`)).text();
    assert.match(metrics, /wsgate_webhook_requests_total\{endpoint="backend",outcome="http_5xx"\} 3/);
    assert.match(metrics, /wsgate_webhook_events_retried_total\{endpoint="backend"\} [1-9]/);
  });

  test('an endpoint that does not answer in time is retried', async () => {
    const { receiver, running } = await setup(({ index }) => (index === 0 ? { hang: true } : {}), { timeoutMs: 200 });
    const carol = await connectAs(running, 'carol');
    await receiver.waitFor(() => receiver.delivered().some((event) => event.type === 'session.connected'), 5_000, 'session.connected after a timeout');
    assert.equal(receiver.requests[0]!.status, 0, 'the first request hung');
    assert.deepEqual(receiver.requests[1]!.events.map((event) => event.id), receiver.requests[0]!.events.map((event) => event.id));
    await carol.close();
  });

  test('events that fail for the retry period become dead letters the API lists and replays with their ids', async () => {
    let down = true;
    const { receiver, running } = await setup(() => ({ status: down ? 503 : 204 }));
    const dave = await connectAs(running, 'dave');
    await dave.close();
    await waitFor(async () => (await api(running, 'GET', '/api/webhooks/backend/dead-letters')).body.deadLetters.length >= 4, 10_000, 'four dead letters');
    const page = (await api(running, 'GET', '/api/webhooks/backend/dead-letters?limit=2')).body;
    assert.equal(page.deadLetters.length, 2);
    assert.ok(page.next);
    const rest = (await api(running, 'GET', `/api/webhooks/backend/dead-letters?cursor=${page.next}`)).body;
    const letters = [...page.deadLetters, ...rest.deadLetters];
    assert.deepEqual(letters.map((letter: { event: ReceivedEvent }) => letter.event.type), ['user.online', 'session.connected', 'session.disconnected', 'user.offline']);
    for (const letter of letters) {
      assert.equal(letter.lastError, 'HTTP 503');
      assert.ok(letter.attempts >= 1);
    }
    const status = (await api(running, 'GET', '/api/webhooks')).body;
    assert.equal(status.endpoints[0].deadLetters, 4);
    assert.equal(status.endpoints[0].backlog, 0);

    down = false;
    const replayed = await api(running, 'POST', '/api/webhooks/backend/dead-letters/replay', {});
    assert.deepEqual(replayed.body, { endpoint: 'backend', replayed: 4 });
    const ids = letters.map((letter: { event: ReceivedEvent }) => letter.event.id);
    await receiver.waitFor(() => ids.every((id: string) => receiver.delivered().some((event) => event.id === id)), 5_000, 'replayed events delivered');
    assert.deepEqual(receiver.delivered().map((event) => event.id), ids, 'replayed in order, with their original ids');
    assert.equal((await api(running, 'GET', '/api/webhooks/backend/dead-letters')).body.deadLetters.length, 0);
    assert.equal((await api(running, 'POST', '/api/webhooks/nope/dead-letters/replay', {})).status, 404);
    assert.equal((await api(running, 'GET', '/api/webhooks/nope/dead-letters')).body.code, 'WEBHOOK_ENDPOINT_UNKNOWN');
  });

  test('a full queue drops new events, logs and counts them; what was queued is delivered', async () => {
    let hold = true;
    const { receiver, running } = await setup(() => (hold ? { hang: true } : {}), { timeoutMs: 60_000, concurrency: 1, batchSize: 1 }, { partitions: 1, maxQueueLength: 3 });
    const clients = [];
    for (let i = 0; i < 4; i++) clients.push(await connectAs(running, `user-${i}`));
    await waitFor(async () => /wsgate_webhook_events_dropped_total\{endpoint="backend",reason="queue_full"\} [1-9]/.test(await (await fetch(`${running.httpUrl}/metrics`)).text()), 5_000, 'overflow counted');
    hold = false;
    receiver.dropHanging();
    await Promise.all(clients.map((client) => client.close()));
    await receiver.waitFor(() => receiver.delivered().length >= 3, 5_000, 'queued events delivered');
  });
});
