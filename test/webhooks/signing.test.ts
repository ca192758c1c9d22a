import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../../src/server/config/load.js';
import { StandardWebhooksFormat, verifyStandardWebhook, WebhookVerificationError } from '../../src/server/webhooks/standard-webhooks.js';
import { retryDelay } from '../../src/server/webhooks/retry-policy.js';
import { testSecret } from '../support/webhook-receiver.js';

const OLD = testSecret('old-secret');
const NEW = testSecret('new-secret');
const EVENTS = [{ id: 'evt_1', type: 'user.online' as const, timestamp: new Date().toISOString(), node: 'n1', data: { user: 'alice', session: 's', seq: 1 } }];

test('requests verify with the standardwebhooks package under every configured secret, so secrets rotate', () => {
  const request = new StandardWebhooksFormat([NEW, OLD]).encode(EVENTS, 'msg_abc', new Date());
  assert.equal(request.headers['webhook-id'], 'msg_abc');
  assert.match(request.headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
  for (const secret of [NEW, OLD]) assert.deepEqual(new Webhook(secret).verify(request.body, request.headers), { events: EVENTS });
  assert.throws(() => new Webhook(testSecret('someone-else')).verify(request.body, request.headers));
  assert.throws(() => new Webhook(NEW).verify(request.body.replace('alice', 'mallory'), request.headers), 'a changed body fails');
});

test('wsgate’s own verifier (used by `wsgate webhooks tail`) accepts what the package accepts and refuses old or forged requests', () => {
  const now = new Date();
  const request = new StandardWebhooksFormat([NEW]).encode(EVENTS, 'msg_1', now);
  assert.deepEqual(verifyStandardWebhook([OLD, NEW], request.headers, request.body), { events: EVENTS });
  assert.throws(() => verifyStandardWebhook([OLD], request.headers, request.body), WebhookVerificationError);
  assert.throws(() => verifyStandardWebhook([NEW], request.headers, request.body, 300, now.getTime() + 600_000), /timestamp/);
  assert.throws(() => verifyStandardWebhook([NEW], { ...request.headers, 'webhook-id': 'msg_2' }, request.body), /no signature/);
  assert.throws(() => verifyStandardWebhook([NEW], {}, request.body), /missing/);
});

test('retry delays grow exponentially up to the cap, each a random point below its ceiling (full jitter)', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, periodMs: 10_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((attempt) => retryDelay(policy, attempt, () => 0.999999)), [99, 199, 399, 799, 999, 999]);
  assert.equal(retryDelay(policy, 3, () => 0), 0);
});

test('bad webhook settings stop the node at start, naming the key', () => {
  const load = (webhooks: unknown) => loadConfig({ overrides: { webhooks } });
  assert.throws(() => load({ endpoints: [{ url: 'http://x/' }] }), (error: Error) => error instanceof ConfigError && /webhooks\.endpoints\[0\]\.secrets: no signing secret/.test(error.message));
  assert.throws(() => load({ endpoints: [{ url: 'http://x/', secrets: ['hunter2'] }] }), /webhooks\.endpoints\[0\]\.secrets: a signing secret starts with "whsec_"/);
  assert.throws(() => load({ endpoints: [{ url: 'http://x/', secrets: ['whsec_c2hvcnQ='] }] }), /24 to 64 bytes/);
  assert.throws(() => load({ secrets: [NEW], endpoints: [{ url: 'http://x/', events: ['user.*', 'sessions.*'] }] }), /webhooks\.endpoints\[0\]\.events: "sessions\.\*" matches no event type/);
  assert.throws(() => load({ secrets: [NEW], endpoints: [{ url: 'http://x/' }, { url: 'http://x/' }] }), /webhooks\.endpoints\[1\]\.name/);
  const ok = load({ secrets: [NEW], endpoints: [{ url: 'http://x/', events: ['session.*'] }] });
  assert.equal(ok.webhooks.endpoints[0]!.concurrency, 4);
  assert.deepEqual(loadConfig({ env: { WSGATE_WEBHOOKS_ENDPOINTS: '[{"url":"http://y/","name":"y"}]', WSGATE_WEBHOOKS_SECRETS: NEW } }).webhooks.endpoints.map((endpoint) => endpoint.name), ['y']);
});
