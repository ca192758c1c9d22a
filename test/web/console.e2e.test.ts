import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CloseCode } from '../../src/protocol/close-codes.js';
import { hashAdminPassword } from '../../src/server/admin/admin-credentials.js';
import { closeAll, connectUser, type TestClient } from '../cluster/support/clients.js';
import { NAMESPACES, startCluster, type Cluster } from '../cluster/support/cluster.js';
import { API_KEY, startNode, type NodeProcess } from '../cluster/support/node.js';
import { SHARED_REDIS_URL } from '../support/servers.js';
import { waitFor } from '../support/wait.js';

/**
 * The operator console (`/admin`) in headless Chromium against three gateway processes on Redis. Needs the build
 * (`npm run build`: the CLI and the console bundle) and /usr/bin/chromium (scripts/install-system-deps.sh).
 * Screenshots at 1280×800 and 390×844 go to .tmp/console-screenshots/ (see the README).
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../../.tmp/console-screenshots/', import.meta.url));
const PASSWORD = 'operator passphrase for the e2e test';
const sel = (testid: string, extra = '') => `[data-testid="${testid}"]${extra}`;

describe('operator console in Chromium, three nodes on Redis', { timeout: 240_000 }, () => {
  let cluster: Cluster;
  let admin: Record<string, unknown>;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const clients: TestClient[] = [];
  const extraNodes: NodeProcess[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    admin = { enabled: true, passwordHash: await hashAdminPassword(PASSWORD) };
    cluster = await startCluster({ engine: { kind: 'redis', redisUrls: [SHARED_REDIS_URL] }, stop: async () => {} }, 'console', {
      nodes: 3, leaseMs: 3_000, config: { admin }, readyTimeoutMs: 60_000,
    });
    await mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await closeAll(clients);
    await Promise.all(extraNodes.map((node) => node.kill('SIGKILL')));
    await cluster?.stop();
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  });

  async function open(width: number, height: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${cluster.nodes[0]!.httpUrl}/admin`);
    return page;
  }

  async function logIn(page: Page, secret = PASSWORD): Promise<void> {
    await page.fill(sel('secret'), secret);
    await page.click(sel('login-submit'));
  }

  async function tab(page: Page, name: string): Promise<void> {
    await page.click(`[data-tab="${name}"]`);
    await page.waitForSelector(`[data-panel="${name}"]:not([hidden])`);
  }

  const rows = (page: Page) => page.locator(sel('node-row'));

  let page: Page;

  it('refuses a wrong password, then logs in and shows the three nodes', async () => {
    page = await open(1280, 800);
    await logIn(page, 'not the password');
    await page.waitForSelector(`${sel('login-error')}:not([hidden])`);
    assert.match(await page.textContent(sel('login-error')) ?? '', /wrong admin password/);
    await logIn(page);
    await page.waitForSelector(`${sel('tabs')}:not([hidden])`);
    assert.equal(await page.isVisible(sel('login')), false, 'the login form is gone');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="node-row"][data-state="live"]').length === 3);
    const ids = await rows(page).evaluateAll((elements) => elements.map((element) => element.getAttribute('data-node')));
    assert.deepEqual(ids, cluster.nodes.map((node) => node.nodeId).sort());
  });

  it('refuses an action without the CSRF token, and an API key, even from the logged-in page', async () => {
    const answers = await page.evaluate(async (apiKey) => {
      const noCsrf = await fetch('/admin/api/channels/chat%3Alobby/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":1}' });
      const withKey = await fetch('/admin/api/nodes', { headers: { authorization: `Bearer ${apiKey}` } });
      return [{ status: noCsrf.status, body: await noCsrf.json() }, { status: withKey.status, body: await withKey.json() }];
    }, API_KEY);
    assert.deepEqual(answers.map((answer) => [answer.status, answer.body.code]), [[403, 'CSRF_INVALID'], [401, 'ADMIN_API_KEY_REFUSED']]);
  });

  it('sees a fourth node appear and a drained node leave', async () => {
    const fourth = await startNode({ nodeId: `${cluster.nodes[0]!.nodeId.replace(/-1$/, '')}-4`, namespaces: NAMESPACES, engine: cluster.engineConfig, admin }, 60_000);
    extraNodes.push(fourth);
    await page.waitForSelector(sel('node-row', `[data-node="${fourth.nodeId}"]`));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="node-row"]').length === 4);
    await page.screenshot({ path: `${SCREENSHOTS}overview-1280x800.png`, fullPage: true });
    const drained = fourth.kill('SIGTERM');
    await page.waitForSelector(sel('node-row', `[data-node="${fourth.nodeId}"]`), { state: 'detached' });
    assert.equal((await drained).code, 0);
    assert.equal(await rows(page).count(), 3);
  });

  it('finds a user on two nodes and disconnects one session: the client gets 4000, the console updates', async () => {
    const [, second, third] = cluster.nodes;
    const onSecond = await connectUser(second!, 'dana');
    const onThird = await connectUser(third!, 'dana');
    clients.push(onSecond, onThird);
    await onThird.subscribe('chat:dana-room');
    await tab(page, 'users');
    await page.fill(sel('user-id'), 'dana');
    await page.press(sel('user-id'), 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-session"]').length === 2);
    assert.equal(await page.locator(sel('user-node')).count(), 2, 'grouped by node');
    const thirdRow = page.locator(sel('user-session', `[data-node="${third!.nodeId}"]`));
    assert.match(await thirdRow.textContent() ?? '', /chat:dana-room/);
    assert.match(await thirdRow.textContent() ?? '', /127\.0\.0\.1/);
    await page.screenshot({ path: `${SCREENSHOTS}users-1280x800.png`, fullPage: true });
    await thirdRow.locator(sel('disconnect-session')).click();
    const closed = await onThird.closed;
    assert.equal(closed.code, CloseCode.SERVER_RECONNECT);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-session"]').length === 1);
    assert.equal(await page.locator(sel('user-session', `[data-node="${second!.nodeId}"]`)).count(), 1);
  });

  it('searches channels and publishes a test message that a subscriber receives', async () => {
    const subscriber = await connectUser(cluster.nodes[2]!, 'erin');
    clients.push(subscriber);
    await subscriber.subscribe('chat:console-e2e');
    await tab(page, 'channels');
    // Counts of other nodes arrive with their next lease renewal (a second here).
    await waitFor(async () => {
      const { body } = await cluster.nodes[0]!.api('GET', '/api/channels?prefix=chat%3Aconsole');
      return (body as { channels: unknown[] }).channels.length === 1;
    }, 10_000, 'the channel listed cluster-wide');
    await page.fill(sel('channel-prefix'), 'chat:console');
    await page.press(sel('channel-prefix'), 'Enter');
    await page.locator(sel('channel-row', '[data-channel="chat:console-e2e"]')).click();
    await page.waitForSelector(`${sel('channel-detail')}:not([hidden])`);
    assert.match(await page.textContent(sel('channel-counts')) ?? '', /^1 subscribers/);
    await page.fill(sel('publish-data'), '{"text":"from the console"}');
    const received = subscriber.next('message', (frame) => frame.channel === 'chat:console-e2e');
    await page.click(sel('publish-submit'));
    assert.deepEqual((await received).data, { text: 'from the console' });
    await page.waitForFunction(() => document.querySelector('[data-testid="channel-history"]')?.textContent?.includes('from the console'));
    await page.screenshot({ path: `${SCREENSHOTS}channels-1280x800.png`, fullPage: true });
  });

  it('tails lifecycle events of every node, filterable', async () => {
    await tab(page, 'events');
    // The console's node asked the others for their events when the stream opened; a session on the third node.
    const frank = await connectUser(cluster.nodes[2]!, 'frank');
    clients.push(frank);
    await page.waitForSelector(`${sel('event', '[data-type="session.connected"]')}:has-text("frank")`);
    await page.fill(sel('event-filter'), 'user.online');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="event"]')].every((item) => item.getAttribute('data-type') === 'user.online'));
    assert.match(await page.textContent(sel('events')) ?? '', /frank/);
    await page.fill(sel('event-filter'), '');
  });

  it('is usable at 390×844', async () => {
    const phone = await open(390, 844);
    await logIn(phone);
    await phone.waitForFunction(() => document.querySelectorAll('[data-testid="node-row"]').length === 3);
    // Nothing wider than the screen but the tables, which scroll inside their box.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
    await phone.waitForFunction(() => [...document.querySelectorAll('.chart canvas')].every((canvas) => (canvas as HTMLCanvasElement).getBoundingClientRect().width <= 390));
    await phone.screenshot({ path: `${SCREENSHOTS}overview-390x844.png`, fullPage: true });
    await tab(phone, 'events');
    await phone.screenshot({ path: `${SCREENSHOTS}events-390x844.png`, fullPage: true });
  });
});
