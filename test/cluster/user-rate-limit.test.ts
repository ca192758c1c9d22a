/** A per-user action bucket holds across node processes: three nodes, three sessions of one user, one allowance. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, type TestClient } from '../helpers/client.js';
import { startRedis, type ServerProcess } from '../support/servers.js';
import { startCluster, type Cluster } from './support/cluster.js';

let redis: ServerProcess;
let cluster: Cluster;
before(async () => {
  redis = await startRedis();
  cluster = await startCluster({ engine: { kind: 'redis', redisUrls: [redis.url] }, stop: () => redis.stop() }, 'user-rate', {
    nodes: 3,
    config: { limits: { actionTypes: [{ match: 'profile.*', rate: 0.01, burst: 5, per: 'user' }] } },
  });
});
after(async () => {
  await cluster?.stop();
  await redis?.stop();
});

test('ten sessions on three nodes share one user\'s allowance; other users and session buckets are apart', { timeout: 60_000 }, async () => {
  const tabs: TestClient[] = [];
  for (let i = 0; i < 9; i++) {
    const node = cluster.nodes[i % 3]!;
    tabs.push(await connect(node.wsUrl, { ticket: await node.mintTicket('alice') }));
  }
  const bob = await connect(cluster.nodes[1]!.wsUrl, { ticket: await cluster.nodes[1]!.mintTicket('bob') });
  tabs.push(await connect(cluster.nodes[2]!.wsUrl, { ticket: await cluster.nodes[2]!.mintTicket('alice') }));
  // No backend owns profile.*: an admitted action is answered NO_ROUTE, a refused one RATE_LIMITED.
  const answers = await Promise.all(tabs.flatMap((tab) => [0, 1, 2].map((i) => tab.request({ type: 'profile.rename', payload: i }))));
  const codes = answers.map((answer) => answer.code);
  assert.equal(codes.filter((code) => code === 'NO_ROUTE').length, 5, `one allowance of 5 for 30 calls from 10 tabs: ${codes.join(',')}`);
  assert.equal(codes.filter((code) => code === 'RATE_LIMITED').length, 25);
  for (const answer of answers.filter((a) => a.code === 'RATE_LIMITED')) assert.ok((answer.retryAfter as number) > 10, `retryAfter ${answer.retryAfter}`);
  assert.equal((await bob.request({ type: 'profile.rename' })).code, 'NO_ROUTE', 'bob has his own allowance');
  // Actions of other types use the session's own bucket, untouched.
  assert.equal((await tabs[0]!.request({ type: 'order.create' })).code, 'NO_ROUTE');
  for (const client of [...tabs, bob]) await client.close();
});
