/**
 * `reusePort`: two gateway processes listen on one port and the kernel spreads the connections; the Redis engine makes
 * them one gateway. A node that drains closes its listener first, so its sibling takes every new connection while the
 * drained clients come back. The clients are the runtime's own WebSocket, not `ws`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { openNative, type NativeClient } from '../helpers/native-client.js';
import { freePort } from '../support/ports.js';
import { within } from '../support/wait.js';
import { ENGINE_SETUPS, startCluster, type Cluster, type EngineWorld } from './support/cluster.js';

/** Connections each node gets before the drain, so it lasts a few batch intervals. */
const PER_NODE = 3;
/** The kernel picks a listener per connection at random: fewer than PER_NODE on one node in this many is negligible. */
const MAX_CLIENTS = 96;
const BATCH_INTERVAL_MS = 500;

describe('two processes on one port (reusePort)', { timeout: 60_000 }, () => {
  let world: EngineWorld;
  let cluster: Cluster;
  let port: number;
  const clients: NativeClient[] = [];

  before(async () => {
    world = await ENGINE_SETUPS[0]!.start();
    port = await freePort();
    cluster = await startCluster(world, 'reuseport', { nodes: 2, config: {
      port, reusePort: true, auth: { anonymous: true },
      // One session per batch: the drain takes (PER_NODE - 1) batch intervals at least.
      drain: { timeoutMs: 15_000, batchSize: 1, batchIntervalMs: BATCH_INTERVAL_MS, reconnectSpreadMs: 0 },
    } });
  });

  after(async () => {
    for (const client of clients) client.socket.close();
    await cluster?.stop();
    await world?.stop();
  });

  async function connect(): Promise<{ client: NativeClient; node: string }> {
    const client = openNative(`ws://127.0.0.1:${port}/ws`);
    clients.push(client);
    const welcome = await within(client.welcome, 5_000, 'welcome');
    return { client, node: String(welcome.node) };
  }

  test('connections spread over both nodes, a publication reaches all, and a drained node hands the port to its sibling', async () => {
    const [first, second] = cluster.nodes;
    const placed: Array<{ client: NativeClient; node: string }> = [];
    const on = (node: string) => placed.filter((entry) => entry.node === node);
    while ((on(first!.nodeId).length < PER_NODE || on(second!.nodeId).length < PER_NODE) && placed.length < MAX_CLIENTS) placed.push(await connect());
    assert.ok(on(first!.nodeId).length >= PER_NODE && on(second!.nodeId).length >= PER_NODE,
      `${placed.length} connections: ${on(first!.nodeId).length} on one node, ${on(second!.nodeId).length} on the other`);

    for (const { client } of placed) {
      const subscribed = client.next('subscribed');
      client.send({ type: 'subscribe', id: 1, channel: 'feed:port' });
      await within(subscribed, 5_000, 'subscribed');
    }
    const messages = placed.map(({ client }) => client.next('message'));
    const published = await first!.api('POST', '/api/publish', { channel: 'feed:port', data: { n: 1 } });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    for (const message of await within(Promise.all(messages), 5_000, 'the publication on every connection')) {
      assert.deepEqual(message.data, { n: 1 });
    }

    const onFirst = on(first!.nodeId);
    const firstTold = Promise.race(onFirst.map(({ client }) => client.next('disconnect')));
    let firstExited = false;
    void first!.exited.then(() => (firstExited = true));
    process.kill(first!.pid, 'SIGTERM');
    assert.equal((await within(firstTold, 5_000, 'the drain to begin')).code, CloseCode.SERVICE_RESTART);
    // The listener closed before the first session was told; the drain goes on for the other batches meanwhile.
    for (let i = 0; i < 6; i++) assert.equal((await connect()).node, second!.nodeId, 'a new connection during the drain');
    assert.equal(firstExited, false, 'the drained node was still draining while its sibling took the new connections');
    const exit = await within(first!.exited, 15_000, 'the drained node to exit');
    assert.equal(exit.code, 0);
  });
});
