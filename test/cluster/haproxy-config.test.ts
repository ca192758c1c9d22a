/** deploy/haproxy: the committed haproxy.cfg is the template's rendering, and HAProxy accepts both. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { renderHaproxyConfig } from '../../deploy/haproxy/render-config.mjs';
import { HAPROXY_PATH } from './support/haproxy.js';

const DEPLOY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'haproxy');
const EXAMPLE_NODES = ['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080'];
const run = promisify(execFile);

test('deploy/haproxy/haproxy.cfg is the template rendered for three nodes', async () => {
  const committed = await readFile(join(DEPLOY, 'haproxy.cfg'), 'utf8');
  assert.equal(committed, renderHaproxyConfig({ nodes: EXAMPLE_NODES }), 'regenerate: node deploy/haproxy/render-config.mjs 10.0.0.11:8080 10.0.0.12:8080 10.0.0.13:8080 > deploy/haproxy/haproxy.cfg');
});

test('the rendered config balances by least connections on /readyz with WebSocket timeouts and no stickiness', () => {
  const config = renderHaproxyConfig({ nodes: ['127.0.0.1:9001', '127.0.0.1:9002'] });
  assert.match(config, /^\s+balance leastconn$/m);
  assert.match(config, /^\s+http-check send meth GET uri \/readyz/m);
  assert.match(config, /^\s+http-check expect status 200$/m);
  assert.match(config, /^\s+timeout tunnel 1h$/m);
  assert.match(config, /^\s+timeout client-fin \S+$/m);
  assert.match(config, /^\s+option http-server-close$/m);
  assert.match(config, /^\s+server node1 127\.0\.0\.1:9001$/m);
  assert.match(config, /^\s+server node2 127\.0\.0\.1:9002$/m);
  assert.doesNotMatch(config, /^\s*(cookie|stick on|balance source|hash-type)\b/m, 'no sticky sessions');
  assert.doesNotMatch(config, /\{\{\w+\}\}/, 'every placeholder filled');
});

test('rendering refuses an empty node list and malformed addresses', () => {
  assert.throws(() => renderHaproxyConfig({ nodes: [] }), /at least one node/);
  assert.throws(() => renderHaproxyConfig({ nodes: ['no-port'] }), /host:port/);
});

test('haproxy -c accepts the committed config', async () => {
  const { stdout, stderr } = await run(HAPROXY_PATH, ['-c', '-f', join(DEPLOY, 'haproxy.cfg')]);
  assert.match(stdout + stderr, /Configuration file is valid/);
  assert.doesNotMatch(stderr, /\[(WARNING|ALERT)\]/, stderr);
});
