/**
 * Pusher webhooks survive the loss of the node delivering them: two gateway processes on Redis, the sink failing
 * while the partition's owner is SIGKILLed with the event pending; the other node takes the partition over and
 * delivers it, verified by the pusher SDK's webhook() helper.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { partitionOfKey } from '../../src/server/webhooks/events.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { closeAll, connectUser, type TestClient } from '../cluster/support/clients.js';
import { startCluster, type Cluster } from '../cluster/support/cluster.js';
import type { NodeProcess } from '../cluster/support/node.js';
import { APP, pusherSdk } from './support/pusher-http.js';
import { PusherWebhookSink } from './support/pusher-webhook-sink.js';

const LEASE_MS = 2_000;
const PARTITIONS = 2;
const ENDPOINT = `pusher-${APP.id}-0`;
/** A bound on liveness on a shared machine (start-up, a takeover), never on correctness. */
const PATIENCE_MS = 60_000;

async function owns(node: NodeProcess, partition: number): Promise<boolean> {
  const { status, body } = await node.api('GET', '/api/webhooks');
  if (status !== 200) return false;
  const endpoints = (body as { endpoints: Array<{ endpoint: string; partitions: number[] }> }).endpoints;
  return endpoints.some((endpoint) => endpoint.endpoint === ENDPOINT && endpoint.partitions.includes(partition));
}

describe('Pusher webhooks when the delivering node dies', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let sink: PusherWebhookSink;
  let failing = true;
  const clients: TestClient[] = [];

  before(async () => {
    sink = await PusherWebhookSink.start(pusherSdk(0), () => (failing ? 500 : 200));
    cluster = await startCluster({ engine: { kind: 'redis', redisUrls: [SHARED_REDIS_URL] }, stop: async () => {} }, 'pusher-hooks', {
      nodes: 2,
      leaseMs: LEASE_MS,
      readyTimeoutMs: PATIENCE_MS,
      config: {
        pusher: { apps: [{ ...APP, webhooks: [{ url: sink.url }] }] },
        webhooks: { partitions: PARTITIONS, leaseMs: LEASE_MS, pollIntervalMs: 50, retry: { initialDelayMs: 50, maxDelayMs: 200, periodMs: 300_000 } },
      },
    });
  });
  after(async () => {
    await closeAll(clients);
    await cluster?.stop();
    await sink?.stop();
  });

  it('the other node delivers what the dead one had read and not delivered', async () => {
    const channel = toWsgateChannel(APP.id, 'news')!;
    const partition = partitionOfKey(`channel:${channel}`, PARTITIONS);
    let owner: NodeProcess | undefined;
    await waitFor(async () => {
      for (const node of cluster.nodes) if (await owns(node, partition)) owner = node;
      return owner !== undefined;
    }, PATIENCE_MS, 'a node owning the channel\'s partition');
    const survivor = cluster.nodes.find((node) => node !== owner)!;

    const ann = await connectUser(survivor, 'ann');
    clients.push(ann);
    const subscribed = ann.next('subscribed', (frame) => frame.channel === channel);
    const answer = await survivor.api('POST', `/api/channels/${encodeURIComponent(channel)}/subscribe`, { session: ann.welcome!.session });
    assert.equal(answer.status, 200);
    await subscribed;
    // The owner read the event and met a 500: it is pending in the owner's hands when the owner dies.
    await sink.waitUntil(() => sink.requests.some((request) => request.events.some((event) => event.name === 'channel_occupied')), 'a failed attempt', PATIENCE_MS);
    await owner!.kill('SIGKILL');
    failing = false;

    await sink.waitForEvent((event) => event.name === 'channel_occupied' && event.channel === 'news', 'delivery by the survivor', PATIENCE_MS);
    assert.ok(sink.requests.every((request) => request.valid));
    assert.ok(await owns(survivor, partition), 'the survivor holds the partition now');
  });
});
