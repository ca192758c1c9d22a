import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs } from '../helpers/client.js';
import { startGateway } from '../helpers/gateway.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { uniquePrefix } from '../support/prefix.js';
import { api } from './api-client.js';

test('a publish retried on another node of a Redis cluster counts once', async () => {
  const engine = { kind: 'redis' as const, redisUrls: [SHARED_REDIS_URL], prefix: uniquePrefix('idem') };
  const [a, b] = [await startGateway({ engine }), await startGateway({ engine })];
  try {
    const reader = await connectAs(b, 'reader');
    await reader.subscribe('chat:retry');
    const headers = { 'idempotency-key': 'order-17-shipped' };
    const body = { channel: 'chat:retry', data: { order: 17 } };
    const [first, retry] = await Promise.all([
      api(a, 'POST', '/api/publish', body, { headers }),
      api(b, 'POST', '/api/publish', body, { headers }),
    ]);
    assert.equal(first.status, 200);
    assert.equal(retry.status, 200);
    assert.deepEqual(first.body, retry.body, 'both nodes answer with the one publication');
    assert.equal([first, retry].filter((answer) => answer.headers.get('idempotent-replayed') === 'true').length, 1);
    await reader.seen('message', (m) => m.offset === first.body.offset);
    const marker = await api(a, 'POST', '/api/publish', { channel: 'chat:retry', data: 'marker' });
    await reader.seen('message', (m) => m.offset === marker.body.offset);
    assert.equal(reader.frames.filter((f) => f.type === 'message' && (f.data as { order?: number }).order === 17).length, 1);
    await reader.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
