/** deploy/haproxy: the committed haproxy.cfg is the template's rendering, and HAProxy accepts both. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { renderHaproxyConfig } from '../../deploy/haproxy/render-config.mjs';
import { HAPROXY_PATH } from './support/haproxy.js';
import { makeCertificate } from '../support/certificates.js';

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

test('with a source address, HAProxy connects to the nodes from it in both backends', () => {
  const config = renderHaproxyConfig({ nodes: EXAMPLE_NODES, source: '10.0.0.5' });
  assert.equal(config.match(/^\s+default-server .* source 10\.0\.0\.5$/gm)?.length, 2);
  assert.throws(() => renderHaproxyConfig({ nodes: EXAMPLE_NODES, source: '10.0.0.5 usesrc clientip' }), /not an address/);
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

test('with --tls-cert and --send-proxy: TLS on the bind with HTTP/1.1 ALPN, PROXY v2 to the nodes; haproxy -c accepts it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-haproxy-tls-'));
  try {
    const cert = await makeCertificate(dir, 'lb');
    const config = renderHaproxyConfig({ nodes: EXAMPLE_NODES, bind: ':443', tlsCert: cert.pemFile, sendProxy: true, adminSocket: join(dir, 'admin.sock') });
    assert.match(config, new RegExp(`^\\s+bind :443 ssl crt ${cert.pemFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} alpn http/1.1$`, 'm'));
    assert.match(config, /^\s+default-server .* send-proxy-v2$/m);
    const file = join(dir, 'haproxy.cfg');
    await writeFile(file, config);
    const { stdout, stderr } = await run(HAPROXY_PATH, ['-c', '-f', file]);
    assert.match(stdout + stderr, /Configuration file is valid/);
    assert.throws(() => renderHaproxyConfig({ nodes: EXAMPLE_NODES, tlsCert: '/etc/my certs/a.pem' }), /spaces/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
