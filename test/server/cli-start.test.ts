import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from '../helpers/client.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('`npm start` (serve --dev on the built CLI) serves the demo, the SDK, chat:lobby to anonymous clients, and stops on SIGTERM', async () => {
  const port = await freePort();
  // The same command `npm start` runs, on a free port instead of 8080.
  const child = spawn(process.execPath, [cli, 'serve', '--dev', '--port', String(port), '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 10_000, `the gateway to be ready:\n${output}`);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /wsgate/);
    const bundle = await fetch(`${base}/client.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
    assert.match(output, /demo chat: open http:\/\/localhost:\d+\//);

    const origin = `http://localhost:${port}`;
    const [alice, bob] = [await connect(`ws://127.0.0.1:${port}/ws`, { origin }), await connect(`ws://127.0.0.1:${port}/ws`, { origin })];
    assert.equal(alice.welcome!.user, null, 'anonymous access is on in the dev preset');
    await alice.subscribe('chat:lobby');
    await bob.subscribe('chat:lobby');
    const message = bob.next('message');
    await alice.request({ type: 'publish', channel: 'chat:lobby', data: 'hello' });
    assert.equal((await message).data, 'hello');
    const ticket = await fetch(`${base}/api/tickets`, {
      method: 'POST', headers: { authorization: 'Bearer wsgate-dev-api-key', 'content-type': 'application/json' }, body: '{"user":"alice"}',
    });
    assert.equal(ticket.status, 200, 'the documented dev API key works');
    child.kill('SIGTERM');
    const closed = await alice.closed;
    assert.equal(closed.code, 1012);
    const [code] = await exited;
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('`wsgate webhooks tail` and `serve --dev --webhook`: the README’s way to watch events prints them, verified', async () => {
  const tail = spawn(process.execPath, [cli, 'webhooks', 'tail', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  tail.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  tail.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const port = await freePort();
  let gateway: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor(() => /listening for webhooks on (\S+)/.test(printed), 10_000, `the tail to listen:\n${printed}`);
    const hookUrl = /listening for webhooks on (\S+)/.exec(printed)![1]!;
    gateway = spawn(process.execPath, [cli, 'serve', '--dev', '--port', String(port), '--host', '127.0.0.1', '--webhook', hookUrl], { stdio: ['ignore', 'ignore', 'ignore'] });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, 10_000, 'the gateway to be ready');
    const client = await connect(`ws://127.0.0.1:${port}/ws`, { origin: `http://localhost:${port}` });
    await client.subscribe('chat:lobby');
    await client.request({ type: 'publish', channel: 'chat:lobby', data: { text: 'hi' } });
    await client.close();
    await waitFor(() => /channel\.vacated/.test(printed), 10_000, `the tail to print the events:\n${printed}`);
    for (const type of ['session.connected', 'channel.occupied', 'channel.published', 'session.disconnected', 'channel.vacated']) assert.match(printed, new RegExp(type.replace('.', '\\.')));
    assert.doesNotMatch(printed, /refused/, 'every request verified with the dev secret');
  } finally {
    gateway?.kill('SIGKILL');
    tail.kill('SIGKILL');
  }
});
