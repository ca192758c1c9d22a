import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackendAuthorizer, type AuthorizeCall } from '../../src/server/channels/backend-authorizer.js';
import { TestClock } from '../support/clock.js';

test('backend authorizer: definite answers are remembered for cacheSeconds on its clock, per user, channel and action', async () => {
  let asked = 0;
  const backend = createServer((request, response) => {
    asked++;
    request.resume().on('end', () => response.writeHead(request.url === '/deny' ? 403 : 204).end());
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  try {
    const clock = new TestClock();
    const authorizer = new BackendAuthorizer(clock.now);
    const rules = { url: `${base}/allow`, apiKey: '', timeoutMs: 1_000, cacheSeconds: 10 };
    const call: AuthorizeCall = { channel: 'team:a', action: 'subscribe', user: 'ann', claims: {}, session: 's1' };
    assert.equal(await authorizer.allows(rules, call), true);
    assert.equal(await authorizer.allows(rules, { ...call, session: 's2' }), true);
    assert.equal(asked, 1, 'the answer is remembered per user, not per session');
    assert.equal(await authorizer.allows(rules, { ...call, action: 'publish' }), true);
    assert.equal(asked, 2, 'another action is asked again');
    await clock.elapse(10_001);
    assert.equal(await authorizer.allows(rules, call), true);
    assert.equal(asked, 3, 'the answer is forgotten after cacheSeconds');

    const denying = { ...rules, url: `${base}/deny`, cacheSeconds: 0 };
    assert.equal(await authorizer.allows(denying, { ...call, user: 'bob' }), false);
    assert.equal(await authorizer.allows(denying, { ...call, user: 'bob' }), false);
    assert.equal(asked, 5, 'cacheSeconds 0 remembers nothing');
  } finally {
    await new Promise((resolve) => backend.close(resolve));
  }
});
