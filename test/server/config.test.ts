import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { envName, loadConfig } from '../../src/server/config/load.js';

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
