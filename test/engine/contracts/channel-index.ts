import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelIndex } from '../../../src/server/engine/channel-index/channel-index.js';
import { withWorld, type WorldFactory } from './world.js';

/** The shared contract every `ChannelIndex` implementation must pass. */
export function channelIndexContract(name: string, factory: WorldFactory<ChannelIndex>): void {
  describe(`ChannelIndex contract: ${name}`, () => {
    it('records nodes per channel and channels per node; occupied with the first node, vacated with the last', () =>
      withWorld(factory, async (world) => {
        const index = await world.instance();
        const other = await world.instance();
        assert.deepEqual(await index.addNode('chat:a', 'n1'), { occupied: { seq: 1 } });
        assert.deepEqual(await other.addNode('chat:a', 'n2'), { occupied: null });
        assert.deepEqual(await index.addNode('chat:a', 'n1'), { occupied: null }, 'again: nothing new');
        assert.deepEqual(await index.addNode('chat:b', 'n1'), { occupied: { seq: 1 } });
        assert.deepEqual(await other.nodesOf('chat:a'), ['n1', 'n2']);
        assert.deepEqual(await other.channelsOf('n1'), ['chat:a', 'chat:b']);
        assert.deepEqual(await index.removeNode('chat:a', 'n1'), { vacated: null });
        assert.equal(await index.removeNode('chat:a', 'n1'), null, 'removed twice: nothing');
        assert.deepEqual(await other.removeNode('chat:a', 'n2'), { vacated: { seq: 2 } });
        assert.deepEqual(await index.nodesOf('chat:a'), []);
        assert.deepEqual(await index.channelsOf('n2'), []);
        // Occupied again: transition 3.
        assert.deepEqual(await other.addNode('chat:a', 'n2'), { occupied: { seq: 3 } });
      }));

    it('decides one occupied and one vacated when many nodes race on one channel', () =>
      withWorld(factory, async (world) => {
        const indexes = await Promise.all(Array.from({ length: 10 }, () => world.instance()));
        const added = await Promise.all(indexes.map((index, i) => index.addNode('chat:race', `n${i}`)));
        assert.deepEqual(added.flatMap((result) => (result.occupied ? [result.occupied] : [])), [{ seq: 1 }]);
        const removed = await Promise.all(indexes.map((index, i) => index.removeNode('chat:race', `n${i}`)));
        assert.deepEqual(removed.flatMap((result) => (result?.vacated ? [result.vacated] : [])), [{ seq: 2 }]);
      }));

    it('removes a dead node everywhere, vacating each channel it held alone exactly once across concurrent purgers', () =>
      withWorld(factory, async (world) => {
        const [a, b, c] = await Promise.all([world.instance(), world.instance(), world.instance()]);
        for (const channel of ['chat:1', 'chat:2', 'chat:3']) await a.addNode(channel, 'dead');
        await b.addNode('chat:2', 'alive');
        const results = await Promise.all([b.removeNodeEverywhere('dead'), c.removeNodeEverywhere('dead')]);
        const vacated = results.flat().map((entry) => [entry.channel, entry.seq]).sort();
        assert.deepEqual(vacated, [['chat:1', 2], ['chat:3', 2]]);
        assert.deepEqual(await a.channelsOf('dead'), []);
        assert.deepEqual(await a.nodesOf('chat:2'), ['alive']);
        assert.deepEqual(await a.removeNodeEverywhere('dead'), []);
      }));
  });
}
