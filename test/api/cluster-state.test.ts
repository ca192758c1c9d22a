import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { closeAll, connectUser, type TestClient } from '../cluster/support/clients.js';
import { startCluster, type Cluster } from '../cluster/support/cluster.js';
import type { NodeProcess } from '../cluster/support/node.js';

const LEASE_MS = 3_000;
const CHANNELS = 10_000;

interface NodeView {
  node: string;
  state: string;
  leaseAgeMs: number | null;
  stats: { sessions: number; subscriptions: number; version: string; rssBytes: number; draining: boolean } | null;
}
interface ChannelPage {
  channels: Array<{ channel: string; subscribers: number }>;
  cursor: string | null;
}

async function get<T>(node: NodeProcess, path: string): Promise<T> {
  const { status, body } = await node.api('GET', path);
  assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
  return body as T;
}

/** Every page of `prefix`, `limit` at a time. */
async function allPages(node: NodeProcess, prefix: string, limit: number): Promise<{ channels: ChannelPage['channels']; pages: number }> {
  const channels: ChannelPage['channels'] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ prefix, limit: String(limit), ...(cursor === null ? {} : { cursor }) });
    const page: ChannelPage = await get<ChannelPage>(node, `/api/channels?${query}`);
    channels.push(...page.channels);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null);
  return { channels, pages };
}

describe('cluster-wide state on three nodes over Redis', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  const clients: TestClient[] = [];

  before(async () => {
    cluster = await startCluster({ engine: { kind: 'redis', redisUrls: [SHARED_REDIS_URL] }, stop: async () => {} }, 'state', {
      nodes: 3,
      leaseMs: LEASE_MS,
      // Three processes load their modules at once: on a busy machine that takes a while.
      readyTimeoutMs: 60_000,
      config: { limits: { maxSubscriptionsPerSession: 5_000, rate: { subscribe: { rate: 100_000, burst: 100_000 } } } },
    });
  });
  after(async () => {
    await closeAll(clients);
    await cluster?.stop();
  });

  test('nodes and info: every live node with its stats, cluster totals beside the node\'s own fields', async () => {
    const [a, b] = cluster.nodes;
    clients.push(await connectUser(a!, 'ann'), await connectUser(b!, 'ann'), await connectUser(b!, 'ben'));
    await waitFor(async () => {
      const { nodes } = await get<{ nodes: NodeView[] }>(a!, '/api/nodes');
      return nodes.length === 3 && nodes.reduce((sum, node) => sum + (node.stats?.sessions ?? 0), 0) === 3;
    }, 10_000, 'three nodes reporting three sessions');
    const { nodes } = await get<{ nodes: NodeView[] }>(a!, '/api/nodes');
    assert.deepEqual(nodes.map((node) => node.node), cluster.nodes.map((node) => node.nodeId).sort());
    for (const node of nodes) {
      assert.equal(node.state, 'live');
      assert.ok(node.leaseAgeMs !== null && node.leaseAgeMs < LEASE_MS, `lease age ${node.leaseAgeMs}`);
      assert.equal(node.stats!.version, '0.1.0');
      assert.ok(node.stats!.rssBytes > 0);
    }
    const info = await get<Record<string, unknown> & { cluster: Record<string, number>; nodes: NodeView[] }>(b!, '/api/info');
    assert.equal(info.node, b!.nodeId);
    assert.equal(info.sessions, 2, 'the node\'s own fields stay the node\'s own');
    assert.equal(info.cluster.nodes, 3);
    assert.equal(info.cluster.sessions, 3);
    assert.equal(info.nodes.length, 3);
  });

  test(`${CHANNELS} channels paged cluster-wide, counts summed over nodes`, async () => {
    const holders = await Promise.all(cluster.nodes.map((node) => connectUser(node, `holder-${node.nodeId}`)));
    clients.push(...holders);
    // Channel n lives on node n % 3; `feed:shared` on all three.
    for (let start = 0; start < CHANNELS; start += 300) {
      const batch: Array<Promise<unknown>> = [];
      for (let n = start; n < Math.min(CHANNELS, start + 300); n++) batch.push(holders[n % 3]!.subscribe(`feed:${n}`));
      await Promise.all(batch);
    }
    await Promise.all(holders.map((holder) => holder.subscribe('feed:shared')));
    const reader = cluster.nodes[1]!;
    await waitFor(async () => (await get<{ subscribers: number }>(reader, '/api/channels/feed%3Ashared')).subscribers === 3, 10_000, 'feed:shared counted on three nodes');
    const one = await get<{ subscribers: number; nodes: Array<{ node: string; subscribers: number }> }>(reader, '/api/channels/feed%3Ashared');
    assert.deepEqual(one.nodes, cluster.nodes.map((node) => ({ node: node.nodeId, subscribers: 1 })).sort((x, y) => x.node.localeCompare(y.node)));

    await waitFor(async () => (await allPages(reader, 'feed:', 1000)).channels.length === CHANNELS + 1, 15_000, 'every channel listed');
    const { channels, pages } = await allPages(reader, 'feed:', 1000);
    assert.ok(pages >= 11, `pages ${pages}`);
    const names = channels.map((entry) => entry.channel);
    assert.equal(new Set(names).size, names.length, 'no channel on two pages');
    assert.deepEqual(names, [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))), 'pages in name order');
    assert.equal(channels.find((entry) => entry.channel === 'feed:shared')!.subscribers, 3);
    assert.ok(channels.every((entry) => entry.channel === 'feed:shared' || entry.subscribers === 1));

    // 1, 10-19, 100-199, 1000-1999
    const ones = await allPages(cluster.nodes[2]!, 'feed:1', 250);
    assert.equal(ones.channels.length, 1111);
    assert.ok(ones.channels.every((entry) => entry.channel.startsWith('feed:1')));
    const none = await get<ChannelPage>(reader, '/api/channels?prefix=nothing%3A');
    assert.deepEqual(none, { node: reader.nodeId, channels: [], cursor: null });
  });

  test('a SIGKILLed node\'s stats and channels are gone within its lease', async () => {
    const [a, , c] = cluster.nodes;
    const killedAt = Date.now();
    await c!.kill('SIGKILL');
    await waitFor(async () => (await get<{ nodes: NodeView[] }>(a!, '/api/nodes')).nodes.length === 2, LEASE_MS + 2_000, 'the dead node left /api/nodes');
    const gone = Date.now() - killedAt;
    assert.ok(gone <= LEASE_MS + 1_000, `stats disappeared after ${gone} ms`);
    const info = await get<{ cluster: { nodes: number } }>(a!, '/api/info');
    assert.equal(info.cluster.nodes, 2);
    await waitFor(async () => {
      const page = await get<ChannelPage>(a!, '/api/channels?prefix=feed%3A2&limit=10');
      // feed:2 lived on node 3 (2 % 3 = 2), feed:20 on node 3 too, feed:21 on node 1.
      return !page.channels.some((entry) => entry.channel === 'feed:2');
    }, 2_000, 'the dead node\'s channels left the listing');
    const shared = await get<{ subscribers: number }>(a!, '/api/channels/feed%3Ashared');
    assert.equal(shared.subscribers, 2);
  });
});
