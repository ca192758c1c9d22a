import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shardOf } from '../../src/server/engine/keyspace/jump-hash.js';
import { ShardedKeyspace } from '../../src/server/engine/keyspace/sharded.js';
import { RoutingTag } from '../../src/server/engine/keyspace/tags.js';

/** No server is reached: the connections are lazy and only shard numbers are read. */
describe('Keyspace: tags on one server', () => {
  it('one Redis holds every tag; over two, only tags of one shard are together', async () => {
    const one = new ShardedKeyspace({ urls: ['redis://127.0.0.1:1'], prefix: 't' });
    assert.equal(one.sameServer([RoutingTag.user('alice'), RoutingTag.session('s1'), RoutingTag.nodeDirectory()]), true);
    const two = new ShardedKeyspace({ urls: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2'], prefix: 't' });
    const users = Array.from({ length: 20 }, (_, i) => RoutingTag.user(`u${i}`));
    const onShard = (shard: number) => users.filter((tag) => shardOf(tag, 2) === shard);
    assert.equal(two.sameServer(onShard(0)), true);
    assert.equal(two.sameServer(onShard(1)), true);
    assert.equal(two.sameServer([onShard(0)[0]!, onShard(1)[0]!]), false);
    await Promise.all([one.close(), two.close()]);
  });
});
