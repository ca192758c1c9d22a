import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCluster, MemoryEngine } from '../../src/server/engine/memory.js';
import { connectAs } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';

test('a node restarted under the same id does not inherit the sessions of its previous run', async () => {
  const cluster = new MemoryCluster();
  const watcherNode = await startGateway({ nodeId: 'watcher-node' }, { engine: new MemoryEngine(cluster) });
  try {
    const watcher = await connectAs(watcherNode, 'watcher');
    await watcher.subscribe('chat:room');
    // What a crashed run of node "fixed-id" left behind: a registered session, present in a channel.
    const engine = new MemoryEngine(cluster);
    await engine.registry.addSession({ session: 'ghost-1', user: 'ghost', node: 'fixed-id', connectedAt: 1, client: {} }, { max: 0, onLimit: 'kick-oldest' });
    await engine.presence.join('chat:room', { user: 'ghost', session: 'ghost-1', node: 'fixed-id' });

    const left = watcher.next('leave');
    const restarted = await startGateway({ nodeId: 'fixed-id' }, { engine });
    try {
      assert.deepEqual(await left, { type: 'leave', channel: 'chat:room', user: 'ghost', session: 'ghost-1' });
      assert.equal(await engine.registry.getSession('ghost-1'), null);
      assert.deepEqual(await engine.registry.getNodeSessions('fixed-id'), []);
      assert.deepEqual((await watcher.request({ type: 'presence', channel: 'chat:room' })).members, [{ user: 'watcher', sessions: 1 }]);
      const fresh = await connectAs(restarted, 'ghost');
      assert.deepEqual((await engine.registry.getUserSessions('ghost')).map((s) => s.session), [fresh.welcome!.session]);
      await fresh.close();
    } finally {
      await restarted.stop();
    }
    await watcher.close();
  } finally {
    await watcherNode.stop();
  }
});
