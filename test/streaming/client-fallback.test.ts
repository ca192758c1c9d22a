/**
 * The SDK behind a proxy that refuses WebSocket upgrades: it falls back to HTTP streaming with POSTs, and moves back
 * onto a WebSocket, subscriptions intact, once upgrades pass again. A real node process behind HAProxy.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { WsgateClient, type ClientStatus, type Publication } from '../../src/client/index.js';
import { NAMESPACES } from '../cluster/support/cluster.js';
import { startHaproxy, type Balancer } from '../cluster/support/haproxy.js';
import { startNode, type NodeProcess } from '../cluster/support/node.js';
import { waitFor } from '../support/wait.js';

let node: NodeProcess;
let balancer: Balancer;

before(async () => {
  node = await startNode({ nodeId: `fallback-${process.pid}`, namespaces: NAMESPACES, auth: { anonymous: true }, streaming: { heartbeatMs: 500 } });
  balancer = await startHaproxy([node], '300ms', { denyWebSocketPaths: ['/ws'] });
});

after(async () => {
  await balancer?.stop();
  await node?.kill('SIGKILL');
});

test('refused upgrades: the client falls back to HTTP streaming, then moves back to a WebSocket without losing a publication', async () => {
  const client = new WsgateClient({
    url: balancer.wsUrl, WebSocket, transports: ['websocket', 'http-stream'], fallbackAfter: 1, upgradeRetryInterval: 200,
    backoff: { minDelay: 5, maxDelay: 20 },
  });
  const statuses: ClientStatus[] = [];
  client.on('status', (status) => statuses.push(status));
  const transportOf = () => (client.status.type === 'connected' ? client.status.transport : null);
  const received: unknown[] = [];
  const subscription = client.subscribe('chat:fallback');
  subscription.on('message', (publication: Publication) => received.push(publication.data));
  try {
    client.connect();
    await waitFor(() => transportOf() === 'http-stream', 10_000, 'connected over HTTP streaming');
    assert.deepEqual(statuses.filter((status) => status.type === 'connecting').map((status) => status.type === 'connecting' && status.transport), ['websocket', 'http-stream']);
    await waitFor(() => subscription.state === 'subscribed', 5_000, 'subscribed over HTTP streaming');
    await node.api('POST', '/api/publish', { channel: 'chat:fallback', data: 1 });
    await waitFor(() => received.length === 1, 5_000, 'a publication over HTTP streaming');
    assert.deepEqual(await client.request('missing.route').catch((error: { code: string }) => error.code), 'NO_ROUTE');

    // Publications keep coming while the proxy starts letting upgrades through and the client moves.
    await balancer.admin(`del acl ${balancer.denyFile} /ws`);
    let next = 2;
    while (transportOf() !== 'websocket') {
      await node.api('POST', '/api/publish', { channel: 'chat:fallback', data: next++ });
      await new Promise((resolve) => setImmediate(resolve));
      await waitFor(() => received.length >= next - 2, 5_000, 'publications keep arriving');
    }
    await node.api('POST', '/api/publish', { channel: 'chat:fallback', data: next++ });
    await waitFor(() => received.length === next - 1, 5_000, 'every publication, once');
    assert.deepEqual(received, Array.from({ length: next - 1 }, (_, index) => index + 1));
  } finally {
    client.disconnect();
  }
});
