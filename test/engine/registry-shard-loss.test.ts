/**
 * The registry over two Redis shards when one of them is down: a removal decided on the user's shard keeps its
 * answer (the user offline) although the index cleanup on the other shard failed, and a dead node's sessions that a
 * purge could not reach go back to its index, so a later sweep purges them and reports the offline then.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { shardOf } from '../../src/server/engine/keyspace/jump-hash.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { RoutingTag } from '../../src/server/engine/keyspace/tags.js';
import { RedisRegistry } from '../../src/server/engine/registry/redis.js';
import type { SessionRecord } from '../../src/server/engine/registry/registry.js';
import { uniquePrefix } from '../support/prefix.js';
import { startRedis, type ServerProcess } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

let servers: ServerProcess[] = [];
let keyspace: ShardedKeyspace;
let registry: RedisRegistry;

before(async () => {
  // Persistent: a shard comes back with what it held, as the sweep after it expects.
  servers = await Promise.all([startRedis({ persistent: true }), startRedis({ persistent: true })]);
  keyspace = new ShardedKeyspace({ urls: servers.map((server) => server.url), prefix: uniquePrefix('shard-loss'), redisOptions: { retryStrategy: () => 50 } });
  registry = new RedisRegistry(keyspace);
  await registry.start();
});
after(async () => {
  await keyspace.close();
  await Promise.all(servers.map((server) => server.stop()));
});

const shard = (tag: string) => shardOf(tag, servers.length);

/** A name with `prefix` whose routing tag lands on shard `wanted`. */
function nameOn(prefix: string, tagOf: (name: string) => string, wanted: number): string {
  for (let i = 0; ; i++) if (shard(tagOf(`${prefix}${i}`)) === wanted) return `${prefix}${i}`;
}

function record(session: string, user: string, node: string): SessionRecord {
  return { session, user, node, connectedAt: Date.now(), client: {} };
}

async function whileDown(server: ServerProcess, work: () => Promise<void>): Promise<void> {
  await server.stop();
  try {
    await work();
  } finally {
    await server.restart();
    await waitFor(() => keyspace.isHealthy(), 10_000, 'the shard to be back');
  }
}

describe('registry with a shard down', () => {
  it('answers the offline a removal made although the session\'s index shard could not be reached', async () => {
    const user = nameOn('alice-', RoutingTag.user, 0);
    const node = nameOn('node-', RoutingTag.node, 0);
    const session = nameOn('sess-', RoutingTag.session, 1);
    const added = await registry.addSession(record(session, user, node), { max: 0, onLimit: 'kick-oldest' });
    assert.ok(added.accepted && added.online);
    await whileDown(servers[1]!, async () => {
      const removed = await registry.removeSession({ session, user, node });
      assert.deepEqual(removed, { offline: { seq: added.online!.seq + 1 } });
    });
    assert.deepEqual(await registry.getUserSessions(user), []);
  });

  it('puts the sessions of a dead node its purge could not reach back into its index, for a later sweep', async () => {
    const user = nameOn('bob-', RoutingTag.user, 1);
    const node = nameOn('dead-', RoutingTag.node, 0);
    const session = nameOn('sess-b-', RoutingTag.session, 0);
    const added = await registry.addSession(record(session, user, node), { max: 0, onLimit: 'kick-oldest' });
    assert.ok(added.accepted && added.online);
    // The node never heartbeats: its lease is absent, so it counts as dead at once.
    await whileDown(servers[1]!, async () => {
      assert.deepEqual(await registry.claimDeadNode(node), [], 'nothing purged while the user\'s shard is away');
    });
    assert.deepEqual((await registry.getNodeSessions(node)).map((entry) => entry.session), [session], 'back in the index');
    assert.ok((await registry.deadNodes()).includes(node));
    const purged = await registry.claimDeadNode(node);
    assert.deepEqual(purged?.map(({ record: entry, offline }) => [entry.session, offline]), [[session, { seq: added.online!.seq + 1 }]]);
  });
});
