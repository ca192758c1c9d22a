import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { api } from './api-client.js';

let running: RunningGateway;
before(async () => {
  running = await startGateway();
});
after(() => running.stop());

test('GET /api/channels/{channel}/history reads what the channel keeps, by limit or since a position', async () => {
  for (let i = 1; i <= 4; i++) assert.equal((await api(running, 'POST', '/api/publish', { channel: 'chat:hist', data: { n: i } })).status, 200);
  const latest = await api(running, 'GET', '/api/channels/chat%3Ahist/history?limit=2');
  assert.equal(latest.status, 200);
  assert.equal(latest.body.offset, 4);
  assert.deepEqual(latest.body.publications, [{ offset: 3, from: null, data: { n: 3 } }, { offset: 4, from: null, data: { n: 4 } }]);
  const since = await api(running, 'GET', `/api/channels/chat%3Ahist/history?sinceOffset=1&epoch=${latest.body.epoch}`);
  assert.deepEqual(since.body.publications.map((p: { offset: number }) => p.offset), [2, 3, 4]);
  assert.equal(since.body.recovered, true);
  const stale = await api(running, 'GET', '/api/channels/chat%3Ahist/history?sinceOffset=1&epoch=other');
  assert.equal(stale.body.recovered, false);
  assert.deepEqual(stale.body.publications, []);
});

test('history errors: namespace without history, half a position, bad channel, no key', async () => {
  assert.equal((await api(running, 'GET', '/api/channels/news%3Ax/history')).body.code, 'HISTORY_DISABLED');
  const half = await api(running, 'GET', '/api/channels/chat%3Ahist/history?sinceOffset=1');
  assert.equal(half.status, 400);
  assert.equal(half.body.code, 'BODY_INVALID');
  assert.equal((await api(running, 'GET', '/api/channels/bad%20name/history')).body.code, 'CHANNEL_INVALID');
  assert.equal((await api(running, 'GET', '/api/channels/chat%3Ahist/history', undefined, { key: null })).status, 401);
});
