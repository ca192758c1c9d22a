import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/server/config/load.js';
import { Gateway } from '../../src/server/gateway.js';
import { startHaproxy, type Balancer } from '../cluster/support/haproxy.js';
import { freePort } from '../support/ports.js';
import { launchChromium } from './support/chromium.js';

/**
 * The demo page in headless Chromium behind an HAProxy that refuses WebSocket upgrades, as some corporate proxies do:
 * the chat works over SSE with POSTs, the page says so, and it moves back to a WebSocket once upgrades pass again.
 * Needs the client bundle (`npm run build`), /usr/bin/chromium and HAProxy (scripts/install-system-deps.sh).
 */

const sel = (testid: string, extra = '') => `[data-testid="${testid}"]${extra}`;

describe('demo page when WebSockets are blocked', () => {
  let gateway: Gateway;
  let balancer: Balancer;
  let direct: string;
  let browser: Browser;

  before(async () => {
    const port = await freePort();
    direct = `http://127.0.0.1:${port}`;
    // The page is served through the balancer's port as well: both origins may connect.
    const config = loadConfig({ dev: true, overrides: { port, host: '127.0.0.1', log: { level: 'silent' }, allowedOrigins: ['*'] } });
    gateway = await Gateway.create(config);
    await gateway.listen();
    balancer = await startHaproxy([{ port }], '300ms', { denyWebSocketPaths: ['/ws'] });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await balancer?.stop();
    await gateway?.stop();
  });

  async function login(base: string, user: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 720 } })).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${base}/?upgradeRetryMs=500`);
    await page.fill(sel('login-user'), user);
    await page.fill(sel('login-org'), 'acme');
    await page.setChecked(sel('login-single'), false);
    await page.click(sel('login-submit'));
    await page.waitForSelector(sel('status', '[data-status="connected"]'));
    await page.waitForSelector(sel('conversation', '[data-key="org:acme"]'));
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill(sel('compose-input'), text);
    await page.click(sel('compose-send'));
  }

  async function sees(page: Page, text: string): Promise<void> {
    await page.locator(sel('message-text'), { hasText: text }).first().waitFor();
  }

  it('chats over SSE, shows the transport, and moves back to a WebSocket when upgrades pass', async () => {
    const alice = await login(balancer.httpUrl, 'alice');
    await alice.waitForSelector(sel('status', '[data-transport="sse"]'));
    assert.match(await alice.textContent(sel('status')) ?? '', /connected · sse/);
    const bob = await login(direct, 'bob');
    await bob.waitForSelector(sel('status', '[data-transport="websocket"]'));

    await say(alice, 'hello over sse');
    await sees(bob, 'hello over sse');
    await say(bob, 'hello from a websocket');
    await sees(alice, 'hello from a websocket');

    await balancer.admin(`del acl ${balancer.denyFile} /ws`);
    await alice.waitForSelector(sel('status', '[data-transport="websocket"]'));
    assert.match(await alice.textContent(sel('whoami-session')) ?? '', /· websocket$/);
    await say(bob, 'still here after the move');
    await sees(alice, 'still here after the move');
    await say(alice, 'and back over a websocket');
    await sees(bob, 'and back over a websocket');
  });
});
