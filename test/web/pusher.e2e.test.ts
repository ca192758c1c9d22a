import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import PusherServer from 'pusher';
import { loadConfig } from '../../src/server/config/load.js';
import { Gateway } from '../../src/server/gateway.js';
import { freePort } from '../support/ports.js';
import { launchChromium } from './support/chromium.js';

/**
 * The browser build of pusher-js (`pusher-js/dist/web/pusher.min.js`, unmodified) in headless Chromium against a
 * gateway running the `--dev` preset and its development app. The page comes from an app server of the test's own,
 * on another origin, whose `/pusher/auth` endpoint signs with the `pusher` SDK, as a Pusher app's backend does.
 * Needs /usr/bin/chromium (scripts/install-system-deps.sh).
 */

const PUSHER_JS = fileURLToPath(new URL('../../node_modules/pusher-js/dist/web/pusher.min.js', import.meta.url));
/** The development preset's app (docs/pusher.md). */
const DEV_APP = { id: 'wsgate-dev', key: 'wsgate-dev-key', secret: 'wsgate-dev-secret' } as const;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>pusher-js</title><script src="/pusher.min.js"></script></head><body></body></html>`;

/** What a page's pusher-js saw, kept on `window` for the test to read. */
interface PageLog {
  state: string;
  socketId: string | null;
  subscribed: boolean;
  events: Array<{ event: string; data: unknown }>;
  errors: unknown[];
}

declare global {
  interface Window {
    log: PageLog;
    pusherClient: { subscribe(name: string): { trigger(event: string, data: unknown): boolean } };
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve(body));
    request.on('error', reject);
  });
}

describe('pusher-js (browser build) in Chromium', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  let gatewayPort: number;
  let appServer: Server;
  let appOrigin: string;
  let sdk: PusherServer;
  let browser: Browser;
  const authorized: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    const script = await readFile(PUSHER_JS);
    // The app's backend: the page, pusher-js, and the channel auth endpoint pusher-js posts its form to.
    appServer = createServer(async (request, response) => {
      if (request.method === 'GET' && request.url === '/') return response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      if (request.method === 'GET' && request.url === '/pusher.min.js') return response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
      if (request.method === 'POST' && request.url === '/pusher/auth') {
        const form = new URLSearchParams(await readBody(request));
        const channel = form.get('channel_name') ?? '';
        authorized.push(channel);
        return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sdk.authorizeChannel(form.get('socket_id') ?? '', channel)));
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;

    gatewayPort = await freePort();
    // The dev preset, with the app server's origin allowed to open WebSockets as well.
    const config = loadConfig({ dev: true, overrides: { port: gatewayPort, host: '127.0.0.1', log: { level: 'silent' }, allowedOrigins: [appOrigin] } });
    gateway = await Gateway.create(config);
    await gateway.listen();
    sdk = new PusherServer({ appId: DEV_APP.id, key: DEV_APP.key, secret: DEV_APP.secret, host: '127.0.0.1', port: String(gatewayPort), useTLS: false });

    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await new Promise((resolve) => appServer?.close(resolve));
  });

  /** A page of the app with pusher-js connected to the gateway and subscribed to `channel`, logging what it receives. */
  async function subscribedPage(channel: string, events: string[]): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${appOrigin}/`);
    await page.evaluate(({ key, port, channel, events }) => {
      window.log = { state: 'new', socketId: null, subscribed: false, events: [], errors: [] };
      // The browser's global from pusher.min.js; the page has no types for it.
      const Pusher = (window as unknown as { Pusher: new (key: string, options: object) => any }).Pusher;
      const client = new Pusher(key, {
        cluster: 'wsgate',
        wsHost: '127.0.0.1',
        wsPort: port,
        forceTLS: false,
        enabledTransports: ['ws'],
        channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax' },
      });
      window.pusherClient = client;
      client.connection.bind('state_change', ({ current }: { current: string }) => {
        window.log.state = current;
        window.log.socketId = client.connection.socket_id ?? null;
      });
      client.connection.bind('error', (error: unknown) => window.log.errors.push(JSON.parse(JSON.stringify(error))));
      const subscription = client.subscribe(channel);
      subscription.bind('pusher:subscription_succeeded', () => (window.log.subscribed = true));
      subscription.bind('pusher:subscription_error', (error: unknown) => window.log.errors.push(error));
      for (const event of events) subscription.bind(event, (data: unknown) => window.log.events.push({ event, data }));
    }, { key: DEV_APP.key, port: gatewayPort, channel, events });
    await page.waitForFunction(() => window.log.subscribed || window.log.errors.length > 0);
    const log = await pageLog(page);
    assert.deepEqual(log.errors, []);
    assert.equal(log.state, 'connected');
    assert.match(log.socketId ?? '', /^\d+\.\d+$/);
    return page;
  }

  const pageLog = (page: Page) => page.evaluate(() => window.log);
  const eventsSeen = (page: Page, count: number) => page.waitForFunction((count) => window.log.events.length >= count, count);

  it('subscribes to a private channel through the app\'s auth endpoint, receives a trigger, and relays a client event to another page', async () => {
    const alice = await subscribedPage('private-room', ['announcement', 'client-typing']);
    const bob = await subscribedPage('private-room', ['announcement', 'client-typing']);
    assert.deepEqual(authorized, ['private-room', 'private-room']);

    await sdk.trigger('private-room', 'announcement', { text: 'doors open' });
    await Promise.all([eventsSeen(alice, 1), eventsSeen(bob, 1)]);
    for (const page of [alice, bob]) assert.deepEqual((await pageLog(page)).events, [{ event: 'announcement', data: { text: 'doors open' } }]);

    assert.equal(await alice.evaluate(() => window.pusherClient.subscribe('private-room').trigger('client-typing', { who: 'alice' })), true);
    await eventsSeen(bob, 2);
    assert.deepEqual((await pageLog(bob)).events[1], { event: 'client-typing', data: { who: 'alice' } });
    // A second trigger, seen by both, shows the client event never came back to its sender.
    await sdk.trigger('private-room', 'announcement', { text: 'last call' });
    await Promise.all([eventsSeen(alice, 2), eventsSeen(bob, 3)]);
    assert.deepEqual((await pageLog(alice)).events.map(({ event }) => event), ['announcement', 'announcement']);
    assert.deepEqual(pageErrors, []);
  });
});
