import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiKeyId } from '../../src/server/api/api-key.js';
import { API_KEY, startGateway } from '../helpers/gateway.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { captureLogs } from '../support/log-capture.js';
import { uniquePrefix } from '../support/prefix.js';
import { api } from './api-client.js';

const OTHER_KEY = 'second-api-key-abcdefghijklmnop';

test('each API key has its own rate limit, shared by the nodes; over it: 429 RATE_LIMITED with retryAfter', async () => {
  // Two nodes on one Redis: the key's allowance is the cluster's, not each node's.
  const engine = { kind: 'redis' as const, redisUrls: [SHARED_REDIS_URL], prefix: uniquePrefix('api-rate') };
  const config = { apiKeys: [API_KEY, OTHER_KEY], api: { rateLimit: { rate: 0.01, burst: 3 } }, engine };
  const [a, b] = [await startGateway(config), await startGateway(config)];
  try {
    const statuses = [];
    for (const node of [a, b, a]) statuses.push((await api(node, 'GET', '/api/info')).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    const refused = await api(b, 'GET', '/api/info');
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    assert.ok(refused.body.retryAfter > 50, `retryAfter ${refused.body.retryAfter}`);
    assert.equal(refused.headers.get('retry-after'), String(Math.ceil(refused.body.retryAfter)));
    assert.equal((await api(a, 'GET', '/api/info', undefined, { key: OTHER_KEY })).status, 200, 'another key has its own bucket');
    assert.equal((await api(a, 'GET', '/api/info', undefined, { key: 'wrong-key-0123456789abcdef' })).status, 401);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('every state-changing call logs one audit line at info with key id, route, target and status; never the key', async () => {
  const { logger, lines, output } = captureLogs();
  const gw = await startGateway({ log: { level: 'info' } }, { logger });
  try {
    await api(gw, 'POST', '/api/publish', { channel: 'chat:lobby', data: { text: 'hi' } });
    await api(gw, 'POST', '/api/users/alice/send', { type: 'NOTE', payload: 1 });
    await api(gw, 'POST', '/api/tickets', { user: 'bob' });
    await api(gw, 'POST', '/api/publish', { channel: 'nope:x', data: 1 });
    await api(gw, 'GET', '/api/info');
    await api(gw, 'POST', '/api/publish', { channel: 'chat:lobby', data: 1 }, { key: 'wrong-key-0123456789abcdef' });
  } finally {
    await gw.stop();
  }
  const audit = lines.filter((line) => line.msg === 'server API call').map((line) => ({ level: line.level, ...line.audit }));
  const key = apiKeyId(API_KEY);
  assert.deepEqual(audit, [
    { level: 30, key, method: 'POST', route: '/api/publish', target: { channel: 'chat:lobby' }, status: 200 },
    { level: 30, key, method: 'POST', route: '/api/users/:user/send', target: { user: 'alice' }, status: 200 },
    { level: 30, key, method: 'POST', route: '/api/tickets', target: { user: 'bob' }, status: 200 },
    { level: 30, key, method: 'POST', route: '/api/publish', target: { channel: 'nope:x' }, status: 404 },
  ]);
  assert.ok(!output().includes(API_KEY), 'the key itself is never logged');
  assert.ok(!/"ticket":"[^[]/.test(output()), 'nor the ticket');
});
