import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'wsgate-cli-config-'));

/** Runs the built CLI with only `env` (no WSGATE_* of the shell); resolves with its exit code and output. */
async function wsgate(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WSGATE_') && name !== 'PORT'));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...clean, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const SECRETS = {
  apiKey: 'api-key-that-must-not-show-1234',
  jwt: 'jwt-secret-that-must-not-show-5678',
  redisPassword: 'redis-password-not-shown',
  natsToken: 'nats-token-not-shown',
  authorizeKey: 'authorize-key-not-shown',
  routeKey: 'route-key-not-shown',
};

describe('wsgate CLI for operators', () => {
  test('--version prints the package version', async () => {
    const { code, stdout } = await wsgate(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout.trim(), version);
  });

  test('config print shows the effective config of file, environment and flags, in schema order, with every secret redacted', async () => {
    const config = file('print.yaml', [
      'port: 9000',
      'auth: { jwt: { secrets: [ "' + SECRETS.jwt + '" ] } }',
      'namespaces:',
      // A namespace whose name looks like a secret key is shown, not hidden.
      '  tokens: { authorize: { url: "http://authz.internal/check", apiKey: "' + SECRETS.authorizeKey + '" } }',
      'actions: { routes: [ { match: "order.*", url: "http://orders.internal/actions", apiKey: "' + SECRETS.routeKey + '" } ] }',
    ].join('\n'));
    const { code, stdout } = await wsgate(['config', 'print', '--config', config, '--set', 'ws.maxPayload=2048', '--engine', 'nats'], {
      WSGATE_API_KEYS: `${SECRETS.apiKey},second-key-also-not-shown-0000`,
      WSGATE_REDIS_URL: `redis://:${SECRETS.redisPassword}@10.0.0.5:6379`,
      WSGATE_NATS_URL: `nats://${SECRETS.natsToken}@10.0.0.6:4222`,
    });
    assert.equal(code, 0);
    for (const secret of Object.values(SECRETS)) assert.ok(!stdout.includes(secret), `${secret} is not printed`);
    const printed = parse(stdout) as Record<string, any>;
    assert.equal(printed.port, 9000, 'from the file');
    assert.equal(printed.ws.maxPayload, 2048, 'from --set');
    assert.equal(printed.engine.kind, 'nats', 'from a flag');
    assert.equal(printed.ws.pingIntervalMs, 25_000, 'a default');
    assert.deepEqual(printed.apiKeys, ['[redacted]', '[redacted]'], 'as many keys as configured');
    assert.deepEqual(printed.auth.jwt.secrets, ['[redacted]']);
    assert.deepEqual(printed.auth.cookie.secrets, [], 'an empty list stays empty');
    assert.equal(printed.namespaces.tokens.authorize.url, 'http://authz.internal/check');
    assert.equal(printed.namespaces.tokens.authorize.apiKey, '[redacted]');
    assert.equal(printed.actions.routes[0].apiKey, '[redacted]');
    assert.deepEqual(printed.engine.redisUrls, ['redis://:[redacted]@10.0.0.5:6379']);
    assert.deepEqual(printed.engine.natsUrls, ['nats://[redacted]@10.0.0.6:4222']);
    assert.deepEqual(Object.keys(printed).slice(0, 3), ['port', 'host', 'reusePort']);

    const json = await wsgate(['config', 'print', '--json', '--dev']);
    assert.equal(json.code, 0);
    assert.equal((JSON.parse(json.stdout) as { web: { demo: boolean } }).web.demo, true);
  });

  test('config print exits 2 on a bad config, naming the key', async () => {
    const { code, stderr } = await wsgate(['config', 'print'], { WSGATE_WS_MAX_PAYLOAD: 'lots' });
    assert.equal(code, 2);
    assert.match(stderr, /ws\.maxPayload: must be integer/);
  });

  test('config check: 0 for a valid file whatever the environment, 2 for an invalid or unreadable one, 1 without a file', async () => {
    const valid = await wsgate(['config', 'check', file('valid.yaml', 'port: 9000\nengine: { kind: redis, redisUrls: [ "redis://r:6379" ] }\nreusePort: true\n')], { WSGATE_ENGINE: 'mongodb' });
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /valid\.yaml: valid/);

    const invalid = await wsgate(['config', 'check', file('invalid.yaml', 'port: 9000\nws: { maxPayloadd: 1 }\n')]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /ws\.maxPayloadd: unknown key/);

    const rule = await wsgate(['config', 'check', file('memory-reuse.yaml', 'reusePort: true\n')]);
    assert.equal(rule.code, 2);
    assert.match(rule.stderr, /reusePort: needs a shared engine/);

    const unparsable = await wsgate(['config', 'check', file('broken.yaml', 'port: [9000\n')]);
    assert.equal(unparsable.code, 2);
    assert.match(unparsable.stderr, /is not valid/);

    const missing = await wsgate(['config', 'check', join(dir, 'nowhere.yaml')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file/);

    assert.equal((await wsgate(['config', 'check'])).code, 1);
  });
});
