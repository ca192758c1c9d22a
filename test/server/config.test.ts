import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { envName, keyType, loadConfig, parseEnvValue, setPath } from '../../src/server/config/load.js';

const run = promisify(execFile);

function leafPaths(node: { type?: string; properties?: Record<string, unknown> }, prefix: string[] = []): string[] {
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties).flatMap(([key, child]) => leafPaths(child as typeof node, [...prefix, key]));
  }
  return [prefix.join('.')];
}

describe('configuration', () => {
  test('docs/configuration.md documents every key with its environment variable', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const path of leafPaths(ConfigSchema as never)) {
      assert.ok(doc.includes(`| \`${path}\` |`), `${path} is documented`);
      const aliases: Record<string, string> = { 'engine.kind': 'WSGATE_ENGINE', 'engine.redisUrls': 'WSGATE_REDIS_URL', 'engine.natsUrls': 'WSGATE_NATS_URL' };
      assert.ok(doc.includes(aliases[path] ?? envName(path)), `${path}: its environment variable is documented`);
    }
  });

  test('defaults < file < environment < overrides, with typed values and comma lists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-config-'));
    const file = join(dir, 'wsgate.yaml');
    writeFileSync(file, 'port: 9000\nhost: 127.0.0.1\nws:\n  maxPayload: 2048\nsessions: { max: 3 }\n');
    const config = loadConfig({
      file,
      env: { WSGATE_PORT: '9100', WSGATE_API_KEYS: 'key-aaaaaaaaaaaaaaaa, key-bbbbbbbbbbbbbbbb', WSGATE_REDIS_URL: 'redis://a:6379,redis://b:6379', WSGATE_ENGINE: 'redis', WSGATE_AUTH_ANONYMOUS: 'true' },
      overrides: { sessions: { onLimit: 'reject-new' } },
    });
    assert.equal(config.port, 9100);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.ws.maxPayload, 2048);
    assert.equal(config.ws.pingIntervalMs, 25_000);
    assert.deepEqual(config.apiKeys, ['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']);
    assert.deepEqual(config.engine.redisUrls, ['redis://a:6379', 'redis://b:6379']);
    assert.equal(config.engine.kind, 'redis');
    assert.equal(config.auth.anonymous, true);
    assert.deepEqual(config.sessions, { max: 3, onLimit: 'reject-new' });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.ws) && Object.isFrozen(config.apiKeys));
    assert.equal(loadConfig({ env: { PORT: '7000' } }).port, 7000);
  });

  test('a bad value fails naming the key', () => {
    assert.throws(() => loadConfig({ env: { WSGATE_WS_MAX_PAYLOAD: 'lots' } }), /ws\.maxPayload: must be integer/);
    assert.throws(() => loadConfig({ overrides: { sessions: { onLimit: 'sometimes' } } }), /sessions\.onLimit/);
    assert.throws(() => loadConfig({ overrides: { ws: { maxPayloadd: 1 } } }), /ws\.maxPayloadd: unknown key/);
    assert.throws(() => loadConfig({ env: { WSGATE_API_KEYS: 'short' } }), /apiKeys\.0/);
    assert.throws(() => loadConfig({ file: '/nonexistent/wsgate.yaml' }), /cannot read config file/);
    assert.throws(() => loadConfig({ overrides: { proxy: { trustedProxies: ['10.0.0.0/8', '300.1.1.1'] } } }), /proxy\.trustedProxies\.1: "300\.1\.1\.1" is not an address or CIDR/);
    assert.throws(() => loadConfig({ env: { WSGATE_PROXY_TRUSTED_PROXIES: '10.0.0.0/33' } }), /proxy\.trustedProxies\.0/);
    assert.throws(() => loadConfig({ overrides: { tls: { cert: '/etc/wsgate/cert.pem' } } }), /tls\.cert and tls\.key go together/);
    assert.deepEqual(loadConfig({ env: { WSGATE_LIMITS_ACTION_TYPES: '[{"match":"chat.*","rate":5,"burst":10,"per":"user"}]' } }).limits.actionTypes, [{ match: 'chat.*', rate: 5, burst: 10, per: 'user' }]);
    assert.throws(() => loadConfig({ overrides: { reusePort: true } }), /reusePort: needs a shared engine/);
  });

  test('the CLI refuses a bad value at start with exit code 2 and the key in the message', async () => {
    const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
    const error = await run(process.execPath, ['--import', 'tsx', cli, 'serve', '--set', 'ws.pingIntervalMs=soon'], { env: { ...process.env, WSGATE_PORT: '0' } })
      .then(() => assert.fail('should exit non-zero'), (e: { code: number; stderr: string }) => e);
    assert.equal(error.code, 2);
    assert.match(error.stderr, /ws\.pingIntervalMs: must be integer/);
    const badEnv = await run(process.execPath, ['--import', 'tsx', cli, 'serve'], { env: { ...process.env, WSGATE_ENGINE: 'mongodb' } })
      .then(() => assert.fail('should exit non-zero'), (e: { code: number; stderr: string }) => e);
    assert.equal(badEnv.code, 2);
    assert.match(badEnv.stderr, /engine\.kind/);
  });
});

/** The schema node of a key path (`ws.maxPayload`). */
function schemaAt(path: string): SchemaLeaf {
  let node = ConfigSchema as unknown as SchemaLeaf & { properties?: Record<string, SchemaLeaf> };
  for (const part of path.split('.')) node = node.properties![part] as typeof node;
  return node;
}

interface SchemaLeaf {
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  anyOf?: Array<{ const?: unknown }>;
}

/** Values for keys whose type alone does not say what a valid value looks like. */
const SAMPLES: Record<string, [raw: string, expected: unknown]> = {
  host: ['127.0.0.1', '127.0.0.1'],
  nodeId: ['node-7', 'node-7'],
  allowedOrigins: ['https://a.example, https://b.example', ['https://a.example', 'https://b.example']],
  apiKeys: ['key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb', ['key-aaaaaaaaaaaaaaaa', 'key-bbbbbbbbbbbbbbbb']],
  'ws.path': ['/socket', '/socket'],
  'auth.jwt.secrets': ['jwt-secret-0123456789', ['jwt-secret-0123456789']],
  'auth.jwt.jwksFile': ['/etc/wsgate/jwks.json', '/etc/wsgate/jwks.json'],
  'auth.jwt.issuer': ['https://issuer.example', 'https://issuer.example'],
  'auth.jwt.audience': ['wsgate', 'wsgate'],
  'auth.jwt.jwksUrl': ['https://idp.example/.well-known/jwks.json', 'https://idp.example/.well-known/jwks.json'],
  'auth.jwt.jwksCaFile': ['/etc/wsgate/idp-ca.pem', '/etc/wsgate/idp-ca.pem'],
  'auth.connectHook.url': ['http://sessions.internal/wsgate/connect', 'http://sessions.internal/wsgate/connect'],
  'auth.connectHook.apiKey': ['hook-key', 'hook-key'],
  'auth.connectHook.headers': ['x-tenant,user-agent', ['x-tenant', 'user-agent']],
  'auth.cookie.name': ['sid', 'sid'],
  'auth.cookie.secrets': ['cookie-secret-0123456789', ['cookie-secret-0123456789']],
  namespaces: ['{"room":{"publish":true}}', { room: { publish: true } }],
  'actions.routes': ['[{"match":"order.*","url":"http://orders.internal/actions"}]', [{ match: 'order.*', url: 'http://orders.internal/actions' }]],
  'engine.redisUrls': ['redis://a:6379,redis://b:6379', ['redis://a:6379', 'redis://b:6379']],
  'engine.natsUrls': ['nats://a:4222', ['nats://a:4222']],
  'engine.prefix': ['tenant-a', 'tenant-a'],
  'proxy.trustedProxies': ['10.0.0.0/8, ::1', ['10.0.0.0/8', '::1']],
  'tls.cert': ['/etc/wsgate/cert.pem', '/etc/wsgate/cert.pem'],
  'tls.key': ['/etc/wsgate/key.pem', '/etc/wsgate/key.pem'],
  'directMessages.allow': ['{claims.org}.*, support', ['{claims.org}.*', 'support']],
  'directMessages.authorize.url': ['http://policy.internal/send', 'http://policy.internal/send'],
  'directMessages.authorize.apiKey': ['policy-key', 'policy-key'],
  'limits.actionTypes': ['[{"match":"chat.*","rate":5,"burst":10}]', [{ match: 'chat.*', rate: 5, burst: 10 }]],
  'webhooks.endpoints': [
    '[{"url":"http://backend.internal/events","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}]',
    [{ url: 'http://backend.internal/events', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'] }],
  ],
  'pusher.apps': ['[{"id":"app-1","key":"key-1","secret":"secret-of-app-1"}]', [{ id: 'app-1', key: 'key-1', secret: 'secret-of-app-1' }]],
  'webhooks.secrets': ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']],
  'admin.passwordHash': ['scrypt$32768$8$1$138jRy7LIjyrHXdO5zXa6Q$qduMq6VAyzJvA6QxtkxL61YzOfair7-9t0iP_dlJ9zc', 'scrypt$32768$8$1$138jRy7LIjyrHXdO5zXa6Q$qduMq6VAyzJvA6QxtkxL61YzOfair7-9t0iP_dlJ9zc'],
  'admin.secretKeys': ['admin-key-0123456789abcdef', ['admin-key-0123456789abcdef']],
};

/** Keys valid only together with another: that one is set beside them. */
const COMPANIONS: Record<string, Record<string, string>> = {
  reusePort: { WSGATE_ENGINE: 'redis', WSGATE_REDIS_URL: 'redis://127.0.0.1:6379' },
  'admin.enabled': { WSGATE_ADMIN_SECRET_KEYS: 'admin-key-0123456789abcdef' },
  'tls.cert': { WSGATE_TLS_KEY: '/etc/wsgate/key.pem' },
  'tls.key': { WSGATE_TLS_CERT: '/etc/wsgate/cert.pem' },
  'directMessages.authorize.apiKey': { WSGATE_DIRECT_MESSAGES_AUTHORIZE_URL: 'http://policy.internal/send' },
  'directMessages.authorize.timeoutMs': { WSGATE_DIRECT_MESSAGES_AUTHORIZE_URL: 'http://policy.internal/send' },
  'directMessages.authorize.cacheSeconds': { WSGATE_DIRECT_MESSAGES_AUTHORIZE_URL: 'http://policy.internal/send' },
};

/** A valid value of the key that differs from its default, as an environment string and as the config should hold it. */
function sampleFor(path: string): [string, unknown] {
  if (SAMPLES[path]) return SAMPLES[path];
  const node = schemaAt(path);
  if (node.anyOf) {
    const other = node.anyOf.map((option) => option.const).find((value) => value !== node.default);
    assert.ok(typeof other === 'string', `${path}: an allowed value other than the default`);
    return [other, other];
  }
  if (node.type === 'boolean') return [String(!node.default), !node.default];
  if (node.type === 'integer' || node.type === 'number') {
    const base = node.default as number;
    const value = node.maximum !== undefined && base + 1 > node.maximum ? base - 1 : base + 1;
    return [String(value), value];
  }
  assert.fail(`${path} (${node.type}): add a sample value to SAMPLES`);
}

function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

/** Only what `expected` names: namespaces and routes gain their defaults. */
function includes(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return actual === expected;
  if (typeof actual !== 'object' || actual === null) return false;
  return Object.entries(expected).every(([key, value]) => includes((actual as Record<string, unknown>)[key], value));
}

describe('partial layers', () => {
  const DEFAULT_BUCKETS = {
    publish: { rate: 100, burst: 200 },
    subscribe: { rate: 50, burst: 100 },
    send: { rate: 50, burst: 100 },
    action: { rate: 100, burst: 200 },
  };

  test('one nested key from the environment, a flag or a file keeps the defaults of everything around it', () => {
    const expected = { ...DEFAULT_BUCKETS, publish: { rate: 1000, burst: 200 } };
    assert.deepEqual(loadConfig({ env: { WSGATE_LIMITS_RATE_PUBLISH_RATE: '1000' } }).limits.rate, expected);
    // What `--set limits.rate.publish.rate=1000` builds.
    const overrides: Record<string, unknown> = {};
    setPath(overrides, 'limits.rate.publish.rate', parseEnvValue('--set', '1000', keyType('limits.rate.publish.rate')!));
    assert.deepEqual(loadConfig({ overrides }).limits.rate, expected);
    const dir = mkdtempSync(join(tmpdir(), 'wsgate-config-'));
    const file = join(dir, 'wsgate.yaml');
    writeFileSync(file, 'limits:\n  rate:\n    publish: { rate: 1000 }\n');
    assert.deepEqual(loadConfig({ file }).limits.rate, expected);
    writeFileSync(file, 'limits:\n  rate:\n    send: { burst: 7 }\n');
    assert.deepEqual(loadConfig({ file }).limits.rate, { ...DEFAULT_BUCKETS, send: { rate: 50, burst: 7 } });
  });

  test('every documented environment variable works on its own and sets its key', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const keysSection = doc.slice(doc.indexOf('## Keys'), doc.indexOf('## Namespaces'));
    const rows = keysSection.split('\n').map((line) => /^\| `([A-Za-z0-9.]+)` \| ([^|]+) \|/.exec(line)).filter((match) => match !== null);
    assert.ok(rows.length >= leafPaths(ConfigSchema as never).length, 'every key has a row');
    let checked = 0;
    for (const [, path, envColumn] of rows) {
      const names = [...envColumn!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1]!);
      assert.ok(names.length > 0, `${path}: an environment variable is documented`);
      const [raw, expected] = sampleFor(path!);
      for (const name of names) {
        let config;
        try {
          config = loadConfig({ env: { ...COMPANIONS[path!], [name]: raw } });
        } catch (error) {
          assert.fail(`${name}=${raw} alone: ${(error as Error).message}`);
        }
        assert.ok(includes(valueAt(config, path!), expected), `${name}=${raw} sets ${path} (got ${JSON.stringify(valueAt(config, path!))})`);
        checked++;
      }
    }
    assert.ok(checked > 55, `${checked} variables checked`);
  });
});
