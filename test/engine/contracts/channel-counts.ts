import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChannelCounts } from '../../../src/server/engine/channel-counts/channel-counts.js';
import { waitFor } from '../../support/wait.js';
import { elapse, withWorld, type WorldFactory } from './world.js';

const LONG = 60_000;

/** Every page of a listing, `limit` at a time. */
async function everyPage(counts: ChannelCounts, nodes: string[], prefix: string, limit: number) {
  const all: Array<{ channel: string; subscribers: number; nodes: number }> = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await counts.list(nodes, { prefix, cursor, limit });
    all.push(...page.channels);
    if (page.cursor === null) return all;
    cursor = page.cursor;
  }
  throw new Error('listing did not end');
}

/** The shared contract every `ChannelCounts` implementation must pass. */
export function channelCountsContract(name: string, factory: WorldFactory<ChannelCounts>): void {
  describe(`ChannelCounts contract: ${name}`, () => {
    it('lists what nodes reported by prefix, summed over the nodes asked about, changes applied and zeros removed', () =>
      withWorld(factory, async (world) => {
        const a = await world.instance();
        const b = await world.instance();
        await a.report('n1', new Map([['chat:a', 2], ['chat:b', 1], ['org:x', 5]]), LONG);
        await b.report('n2', new Map([['chat:a', 3], ['chat:c', 1]]), LONG);
        assert.deepEqual(await b.list(['n1', 'n2'], { prefix: 'chat:', limit: 10 }), {
          channels: [{ channel: 'chat:a', subscribers: 5, nodes: 2 }, { channel: 'chat:b', subscribers: 1, nodes: 1 }, { channel: 'chat:c', subscribers: 1, nodes: 1 }],
          cursor: null,
        });
        assert.deepEqual((await a.list(['n2'], { prefix: '', limit: 10 })).channels.map((entry) => entry.channel), ['chat:a', 'chat:c'], 'only the nodes asked about');
        await a.report('n1', new Map([['chat:a', 0], ['chat:b', 4]]), LONG);
        assert.deepEqual((await b.list(['n1'], { prefix: 'chat:', limit: 10 })).channels, [{ channel: 'chat:b', subscribers: 4, nodes: 1 }]);
        assert.deepEqual(await b.countsOf('chat:b', ['n1', 'n2', 'n3']), new Map([['n1', 4]]));
        assert.deepEqual(await a.countsOf('chat:a', ['n1', 'n2']), new Map([['n2', 3]]));
        await b.drop('n2');
        assert.deepEqual((await a.list(['n1', 'n2'], { prefix: '', limit: 10 })).channels.map((entry) => entry.channel), ['chat:b', 'org:x']);
      }));

    it('pages in byte order without repeating or skipping a name, across nodes that hold different names', () =>
      withWorld(factory, async (world) => {
        const counts = await world.instance();
        const names = Array.from({ length: 250 }, (_, i) => `feed:${i}`);
        // Node k holds every name whose number is k mod 3, and all of them hold feed:shared.
        for (let k = 0; k < 3; k++) {
          await counts.report(`n${k}`, new Map([...names.filter((_, i) => i % 3 === k).map((name) => [name, 1] as const), ['feed:shared', 1]]), LONG);
        }
        const listed = await everyPage(counts, ['n0', 'n1', 'n2'], 'feed:', 7);
        const expected = [...names, 'feed:shared'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        assert.deepEqual(listed.map((entry) => entry.channel), expected);
        assert.deepEqual(listed.find((entry) => entry.channel === 'feed:shared'), { channel: 'feed:shared', subscribers: 3, nodes: 3 });
        assert.equal((await everyPage(counts, ['n0', 'n1', 'n2'], 'feed:1', 10)).length, 1 + 10 + 100, 'feed:1, feed:10-19, feed:100-199');
        assert.deepEqual(await counts.list(['n0'], { prefix: 'none:', limit: 5 }), { channels: [], cursor: null });
      }));

    it('forgets a node that stops reporting once its time to live has passed', () =>
      withWorld(factory, async (world) => {
        const counts = await world.instance();
        await counts.report('gone', new Map([['chat:a', 1]]), 300);
        await counts.report('kept', new Map([['chat:b', 1]]), LONG);
        assert.equal((await counts.list(['gone', 'kept'], { prefix: '', limit: 10 })).channels.length, 2);
        await elapse(world, 300);
        await waitFor(async () => (await counts.list(['gone', 'kept'], { prefix: '', limit: 10 })).channels.length === 1, 5_000, 'the lapsed node forgotten');
        assert.deepEqual(await counts.countsOf('chat:a', ['gone']), new Map());
        // An empty report extends what a node reported.
        await counts.report('kept', new Map(), LONG);
        assert.deepEqual(await counts.countsOf('chat:b', ['kept']), new Map([['kept', 1]]));
      }));
  });
}
