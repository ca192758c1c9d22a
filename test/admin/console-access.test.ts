import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { hashAdminPassword } from '../../src/server/admin/admin-credentials.js';
import { createLogger } from '../../src/server/observability/logger.js';
import { API_KEY, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';
import { mintTicket } from '../helpers/gateway.js';

const PASSWORD = 'correct horse battery staple';
const ADMIN_KEY = 'admin-key-0123456789abcdef';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(running: RunningGateway, method: string, path: string, options: { body?: unknown; cookie?: string; csrf?: string; authorization?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers['x-csrf-token'] = options.csrf;
  if (options.authorization) headers.authorization = options.authorization;
  const response = await fetch(`${running.httpUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) as Record<string, unknown> : {}, headers: response.headers };
}

async function login(running: RunningGateway, body: Record<string, string>): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const answer = await call(running, 'POST', '/admin/api/login', { body });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const setCookie = answer.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: answer.body.csrf as string, setCookie };
}

describe('operator console access', () => {
  let running: RunningGateway;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    running = await startGateway(
      { log: { level: 'info' }, admin: { enabled: true, passwordHash: await hashAdminPassword(PASSWORD), secretKeys: [ADMIN_KEY], loginRate: 0.01, loginBurst: 8 } },
      { logger: createLogger('info', sink) },
    );
  });
  after(() => running.stop());

  test('off unless configured', async () => {
    const plain = await startGateway();
    try {
      assert.equal((await call(plain, 'GET', '/admin')).status, 404);
      assert.equal((await call(plain, 'POST', '/admin/api/login', { body: { password: PASSWORD } })).status, 404);
    } finally {
      await plain.stop();
    }
  });

  test('login with the password or an admin key: HttpOnly SameSite=Strict cookie, CSRF token', async () => {
    const { setCookie, csrf, cookie } = await login(running, { password: PASSWORD });
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    assert.match(setCookie, /Path=\/admin/);
    assert.ok(csrf.length >= 32);
    const session = await call(running, 'GET', '/admin/api/session', { cookie });
    assert.equal(session.body.subject, 'password');
    assert.equal(session.body.csrf, csrf);
    const byKey = await login(running, { key: ADMIN_KEY });
    assert.match((await call(running, 'GET', '/admin/api/session', { cookie: byKey.cookie })).body.subject as string, /^key:[0-9a-f]{12}$/);
  });

  test('refusals: wrong password, forged cookie, missing or wrong CSRF token, API key on the console', async () => {
    const wrong = await call(running, 'POST', '/admin/api/login', { body: { password: 'guess' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'ADMIN_LOGIN_FAILED');
    assert.equal((await call(running, 'GET', '/admin/api/nodes')).body.code, 'ADMIN_SESSION_REQUIRED');
    assert.equal((await call(running, 'GET', '/admin/api/nodes', { cookie: 'wsgate_admin=9999999999999.abc.cGFzc3dvcmQ.forged' })).body.code, 'ADMIN_SESSION_REQUIRED');

    const apiKey = await call(running, 'GET', '/admin/api/nodes', { authorization: `Bearer ${API_KEY}` });
    assert.equal(apiKey.status, 401);
    assert.equal(apiKey.body.code, 'ADMIN_API_KEY_REFUSED');
    const { cookie, csrf } = await login(running, { key: ADMIN_KEY });
    assert.equal((await call(running, 'GET', '/admin/api/nodes', { cookie, authorization: `Bearer ${API_KEY}` })).body.code, 'ADMIN_API_KEY_REFUSED', 'a key next to a session is refused too');

    const noCsrf = await call(running, 'POST', '/admin/api/channels/chat%3Alobby/publish', { cookie, body: { data: 1 } });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.code, 'CSRF_INVALID');
    assert.equal((await call(running, 'POST', '/admin/api/channels/chat%3Alobby/publish', { cookie, csrf: 'x'.repeat(43), body: { data: 1 } })).body.code, 'CSRF_INVALID');
    const published = await call(running, 'POST', '/admin/api/channels/chat%3Alobby/publish', { cookie, csrf, body: { data: { text: 'test' } } });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.equal(published.body.channel, 'chat:lobby');
  });

  test('actions reach sessions and land in the audit log; the config is shown with secrets redacted', async () => {
    const { cookie, csrf } = await login(running, { key: ADMIN_KEY });
    const client = await connect(running.wsUrl, { ticket: await mintTicket(running, 'carol') });
    await client.subscribe('chat:lobby');
    const user = await call(running, 'GET', '/admin/api/users/carol', { cookie });
    const sessions = user.body.sessions as Array<{ session: string; details: { subscriptions: string[]; protocol: string; transport: string } }>;
    assert.equal(sessions.length, 1);
    assert.deepEqual(sessions[0]!.details.subscriptions, ['chat:lobby']);
    assert.equal(sessions[0]!.details.transport, 'websocket');
    const closed = client.closed;
    const disconnected = await call(running, 'POST', `/admin/api/sessions/${sessions[0]!.session}/disconnect`, { cookie, csrf, body: {} });
    assert.equal(disconnected.status, 200, JSON.stringify(disconnected.body));
    assert.equal((await closed).code, 4000);

    const config = await call(running, 'GET', '/admin/api/config', { cookie });
    const admin = (config.body.config as { admin: { passwordHash: string; secretKeys: string[] }; apiKeys: string[] });
    assert.equal(admin.admin.passwordHash, '[redacted]');
    assert.deepEqual(admin.admin.secretKeys, ['[redacted]']);
    assert.deepEqual(admin.apiKeys, ['[redacted]']);

    const audit = lines.filter((line) => line.msg === 'console action').map((line) => line.audit as Record<string, unknown>);
    assert.ok(audit.some((entry) => entry.route === '/admin/api/sessions/:session/disconnect' && entry.status === 200 && String(entry.admin).startsWith('key:')));
    assert.ok(audit.some((entry) => entry.route === '/admin/api/login' && entry.status === 401 && entry.admin === null), 'failed logins are audited');
    assert.ok(audit.some((entry) => entry.route === '/admin/api/channels/:channel/publish' && entry.status === 403), 'refused actions are audited');
  });

  test('login attempts are rate-limited per address', async () => {
    let limited: Answer | undefined;
    for (let attempt = 0; attempt < 10 && !limited; attempt++) {
      const answer = await call(running, 'POST', '/admin/api/login', { body: { password: 'guess' } });
      if (answer.status === 429) limited = answer;
    }
    assert.ok(limited, 'refused within ten attempts');
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // The right password does not get past the limit either.
    assert.equal((await call(running, 'POST', '/admin/api/login', { body: { password: PASSWORD } })).status, 429);
  });
});
