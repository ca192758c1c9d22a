import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig } from '../../src/server/config/load.js';
import { Gateway } from '../../src/server/gateway.js';
import { freePort } from '../support/ports.js';
import { launchChromium } from './support/chromium.js';

/**
 * The demo page (`web/`) in real headless Chromium against an in-process gateway running the `--dev` preset, the one
 * `npm start` runs. Needs the client bundle (`npm run build`) and /usr/bin/chromium (scripts/install-system-deps.sh).
 */

const SCREENSHOT = fileURLToPath(new URL('../../.tmp/demo.png', import.meta.url));
const sel = (testid: string, extra = '') => `[data-testid="${testid}"]${extra}`;
const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

describe('demo page in Chromium', () => {
  let port: number;
  let base: string;
  let gateway: Gateway;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  /** A dev-preset gateway on the chosen port: the origin allowlist is built from the configured port. */
  async function startGateway(): Promise<Gateway> {
    const config = loadConfig({
      dev: true,
      overrides: {
        port,
        host: '127.0.0.1',
        log: { level: 'silent' },
        // Clients of a draining node are told to come back within this spread; short keeps the restart test quick.
        drain: { reconnectSpreadMs: 300, batchIntervalMs: 0, timeoutMs: 3_000 },
      },
    });
    const started = await Gateway.create(config);
    await started.listen();
    return started;
  }

  async function newPage(context?: BrowserContext): Promise<Page> {
    if (!context) {
      context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
      contexts.push(context);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    return page;
  }

  /** Logs in through the form and waits for the connection and the default conversations. */
  async function login(page: Page, user: string, options: { org?: string; single?: boolean } = {}): Promise<void> {
    await page.goto(`${base}/`);
    await page.fill(sel('login-user'), user);
    await page.fill(sel('login-org'), options.org ?? 'acme');
    await page.setChecked(sel('login-single'), options.single ?? false);
    await page.click(sel('login-submit'));
    await page.waitForSelector(sel('status', '[data-status="connected"]'));
    await page.waitForSelector(sel('conversation', `[data-key="org:${options.org ?? 'acme'}"]`));
  }

  async function joinRoom(page: Page, room: string, scope: 'org' | 'chat' = 'org'): Promise<void> {
    await page.selectOption(sel('room-scope'), scope);
    await page.fill(sel('room-input'), room);
    await page.click(sel('room-join'));
  }

  async function openConversation(page: Page, key: string): Promise<void> {
    await page.click(`${sel('conversation', `[data-key="${key}"]`)} ${sel('conversation-open')}`);
    await page.waitForSelector(`${sel('conversation', `[data-key="${key}"]`)}.active`);
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.fill(sel('compose-input'), text);
    await page.click(sel('compose-send'));
  }

  /** Waits for a message in the open conversation with this sender label and text. */
  async function seeMessage(page: Page, from: string, text: string): Promise<void> {
    await page
      .locator(sel('message'))
      .filter({ has: page.locator(sel('message-from'), { hasText: exactly(from) }) })
      .filter({ has: page.locator(sel('message-text'), { hasText: exactly(text) }) })
      .first()
      .waitFor();
  }

  const member = (page: Page, user: string) => page.locator(sel('member', `[data-user="${user}"]`));

  before(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startGateway();
    browser = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await gateway?.stop();
  });

  it('serves the page and the SDK bundle', async () => {
    const page = await newPage();
    const response = await page.goto(`${base}/`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'wsgate demo');
    await page.waitForSelector(sel('login-form'));
    assert.equal(await page.getAttribute(sel('status'), 'data-status'), 'disconnected');
    const bundle = await page.request.get(`${base}/client.js`);
    assert.equal(bundle.status(), 200);
    assert.match(bundle.headers()['content-type'] ?? '', /javascript/);
  });

  let alice: Page;
  let bob: Page;

  it('two users chat in a room and see each other present, with session counts', async () => {
    alice = await newPage();
    bob = await newPage();
    await login(alice, 'alice');
    await joinRoom(alice, 'ops');
    await alice.waitForSelector(sel('conversation', '[data-key="org:acme/room:ops"].active'));
    await member(alice, 'alice').waitFor();

    await login(bob, 'bob');
    await joinRoom(bob, 'ops');
    await member(bob, 'alice').waitFor();
    assert.equal(await member(bob, 'alice').locator(sel('member-sessions')).textContent(), '1 session');

    // Bob appears in alice's member list when he joins (the `join` event), with his session count.
    await member(alice, 'bob').waitFor();
    await alice.locator(sel('member', '[data-user="bob"]'), { hasText: '1 session' }).waitFor();

    await say(alice, 'hello bob, deploy at 5?');
    await seeMessage(alice, 'you', 'hello bob, deploy at 5?');
    await seeMessage(bob, 'alice', 'hello bob, deploy at 5?');
    await say(bob, 'sounds good <b>not bold</b>');
    await seeMessage(alice, 'bob', 'sounds good <b>not bold</b>');
    // User text is text, never markup.
    assert.equal(await alice.locator(`${sel('messages')} b`).count(), 0);

    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await alice.screenshot({ path: SCREENSHOT });
  });

  it('mirrors direct messages and room messages to a second tab of the same user', async () => {
    const aliceTab2 = await newPage(alice.context());
    await login(aliceTab2, 'alice');
    await joinRoom(aliceTab2, 'ops');
    await aliceTab2.locator(sel('member', '[data-user="alice"]'), { hasText: '2 sessions' }).waitFor();

    // A room message from bob reaches both tabs; one from alice's first tab reaches her second tab as her own.
    await say(bob, 'both your tabs see this');
    await seeMessage(alice, 'bob', 'both your tabs see this');
    await seeMessage(aliceTab2, 'bob', 'both your tabs see this');
    await say(alice, 'typed in tab one');
    await seeMessage(aliceTab2, 'you (other tab)', 'typed in tab one');

    // Alice clicks bob in the member list and writes to him directly.
    await member(alice, 'bob').click();
    await alice.waitForSelector(sel('conversation', '[data-key="dm:bob"].active'));
    await say(alice, 'psst, just you');
    await seeMessage(alice, 'you → bob', 'psst, just you');

    // Bob gets it in a direct conversation with alice (unread while he looks at the room).
    await bob.locator(`${sel('conversation', '[data-key="dm:alice"]')} ${sel('unread')}`).waitFor();
    await openConversation(bob, 'dm:alice');
    await seeMessage(bob, 'alice → you', 'psst, just you');

    // Alice's other tab shows the mirror as sent by her.
    await aliceTab2.waitForSelector(sel('conversation', '[data-key="dm:bob"]'));
    await openConversation(aliceTab2, 'dm:bob');
    await seeMessage(aliceTab2, 'you → bob', 'psst, just you');

    // Bob answers; both of alice's tabs receive it.
    await say(bob, 'got it');
    await seeMessage(alice, 'bob → you', 'got it');
    await seeMessage(aliceTab2, 'bob → you', 'got it');
    await aliceTab2.close();
  });

  it('drops a member from the list when he leaves the room', async () => {
    await openConversation(alice, 'org:acme/room:ops');
    await member(alice, 'bob').waitFor();
    await bob.click(`${sel('conversation', '[data-key="org:acme/room:ops"]')} ${sel('conversation-leave')}`);
    await member(alice, 'bob').waitFor({ state: 'detached' });
    await alice.locator(sel('system-message'), { hasText: 'bob left' }).waitFor();
    await member(alice, 'alice').waitFor();
  });

  it('keeps private organisation channels to their members', async () => {
    const outsider = await newPage();
    await login(outsider, 'mallory', { org: 'globex' });
    await joinRoom(outsider, 'ops');
    await outsider.waitForSelector(sel('conversation', '[data-key="org:globex/room:ops"].active'));
    // Mallory's hub is org:globex; acme's hub is refused by the allow templates.
    assert.equal(await outsider.locator(sel('conversation', '[data-key="org:acme"]')).count(), 0);
    await outsider.context().close();
  });

  it('replaces the old tab under the single-session policy; the old tab says so and stays stopped', async () => {
    const first = await newPage();
    await login(first, 'carol', { single: true });
    const second = await newPage(first.context());
    await login(second, 'carol', { single: true });

    await first.waitForSelector(sel('status', '[data-status="disconnected"][data-code="4501"]'));
    await first.locator(sel('notice-text'), { hasText: 'replaced by a newer session' }).waitFor();
    assert.equal(await first.isVisible(sel('notice-reconnect')), true);
    assert.equal(await first.isDisabled(sel('compose-send')), true);

    // The newer tab is the only session: it sees carol once, with one session, and the old one never comes back.
    await second.locator(sel('member', '[data-user="carol"]'), { hasText: '1 session' }).waitFor();
    const statuses = await first.evaluate(() => document.querySelector('[data-testid="status"]')!.getAttribute('data-status'));
    assert.equal(statuses, 'disconnected');
    assert.equal(await second.getAttribute(sel('status'), 'data-status'), 'connected');

    // "Reconnect here" takes the session back: now the other tab is the replaced one.
    await first.click(sel('notice-reconnect'));
    await first.waitForSelector(sel('status', '[data-status="connected"]'));
    await second.waitForSelector(sel('status', '[data-status="disconnected"][data-code="4501"]'));
    await first.waitForSelector(sel('notice'), { state: 'hidden' });
    await first.context().close();
  });

  it('shows reconnecting while the gateway restarts, then connected with the conversations restored', async () => {
    await openConversation(alice, 'org:acme/room:ops');
    await joinRoom(bob, 'ops'); // he left it above
    await member(alice, 'bob').waitFor();

    const stopped = gateway.stop();
    // Read the badge in the same turn that sees it reconnecting: the status moves on to connecting and back meanwhile.
    const badge = await alice.waitForFunction(() => {
      const status = document.querySelector<HTMLElement>('[data-testid="status"]')!;
      return status.dataset.status === 'reconnecting' && status.textContent;
    });
    assert.match(String(await badge.jsonValue()), /^reconnecting · attempt \d+ in \d+\.\d s$/);
    await alice.locator(sel('notice-text'), { hasText: 'Reconnecting' }).waitFor();
    await stopped;
    gateway = await startGateway();

    await alice.waitForSelector(sel('status', '[data-status="connected"]'), { timeout: 15_000 });
    await bob.waitForSelector(sel('status', '[data-status="connected"]'), { timeout: 15_000 });
    await alice.waitForSelector(sel('notice'), { state: 'hidden' });
    // The SDK restored the subscriptions on the new node: presence is back and messages flow again.
    await member(alice, 'bob').waitFor();
    await say(bob, 'still here after the restart');
    await seeMessage(alice, 'bob', 'still here after the restart');
    assert.deepEqual(pageErrors, []);
  });
});
