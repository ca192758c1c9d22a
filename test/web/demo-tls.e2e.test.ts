import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/server/config/load.js';
import { Gateway } from '../../src/server/gateway.js';
import { makeCertificate } from '../support/certificates.js';
import { freePort } from '../support/ports.js';

/**
 * The demo page over https:// and wss:// in real headless Chromium: the gateway terminates TLS itself with a
 * certificate the test makes. Chromium is told to accept that one certificate and no other:
 * `--ignore-certificate-errors-spki-list` with the certificate's public-key hash (no blanket ignoreHTTPSErrors), so a
 * different or broken certificate on the same host would still fail.
 */

const sel = (testid: string, extra = '') => `[data-testid="${testid}"]${extra}`;
let dir: string;
let gateway: Gateway;
let browser: Browser;
let base: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wsgate-demo-tls-'));
  const cert = await makeCertificate(dir, 'demo');
  const port = await freePort();
  base = `https://127.0.0.1:${port}`;
  gateway = await Gateway.create(loadConfig({
    dev: true,
    overrides: { port, host: '127.0.0.1', log: { level: 'silent' }, tls: { cert: cert.certFile, key: cert.keyFile } },
  }));
  await gateway.listen();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', `--ignore-certificate-errors-spki-list=${cert.spkiHash}`],
  });
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function login(page: Page, user: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill(sel('login-user'), user);
  await page.fill(sel('login-org'), 'acme');
  await page.click(sel('login-submit'));
  await page.waitForSelector(sel('status', '[data-status="connected"]'));
  await page.waitForSelector(sel('conversation', '[data-key="org:acme"].active'));
}

test('the demo chats over wss:// with a certificate Chromium trusts only by its key', { timeout: 60_000 }, async () => {
  const sockets: string[] = [];
  const [alice, bob] = [await (await browser.newContext()).newPage(), await (await browser.newContext()).newPage()];
  for (const page of [alice, bob]) {
    page.setDefaultTimeout(10_000);
    page.on('websocket', (socket) => sockets.push(socket.url()));
  }
  await login(alice, 'alice');
  await login(bob, 'bob');
  assert.ok(sockets.length >= 2 && sockets.every((url) => url.startsWith(`wss://127.0.0.1:`)), sockets.join(' '));
  await alice.fill(sel('compose-input'), 'over wss');
  await alice.click(sel('compose-send'));
  await bob.locator(sel('message-text'), { hasText: 'over wss' }).first().waitFor();
  for (const page of [alice, bob]) await page.context().close();
});
