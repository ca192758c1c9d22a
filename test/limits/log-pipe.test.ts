import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from '../helpers/client.js';
import { within } from '../support/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * `wsgate serve | head -2`: the reader of the node's stdout goes away after two lines. Every later log line fails
 * with EPIPE; the node must still drain and exit on SIGTERM.
 */
async function serveWithClosedStdout(): Promise<{ port: number; child: ReturnType<typeof spawn>; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string }> {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI, 'serve', '--dev', '--port', '0', '--host', '127.0.0.1', '--set', `drain.timeoutMs=${DRAIN_TIMEOUT_MS}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Like `head -2`: read two lines, then close the pipe.
  const lines = await within(new Promise<string[]>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const complete = text.split('\n').slice(0, -1);
      if (complete.length >= 2) {
        child.stdout.off('data', onData);
        resolve(complete.slice(0, 2));
      }
    };
    child.stdout.on('data', onData);
  }), 15_000, 'two log lines');
  child.stdout.destroy();
  const { port } = JSON.parse(lines[0]!) as { port: number };
  return { port, child, exited, stderr: () => stderr };
}

function killLeftover(child: ReturnType<typeof spawn>): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

test('a node whose stdout reader has gone exits 0 on SIGTERM', async () => {
  const node = await serveWithClosedStdout();
  try {
    // The shutdown's own log lines are the first to hit the closed pipe, right before the exit.
    node.child.kill('SIGTERM');
    const exit = await within(node.exited, DRAIN_TIMEOUT_MS + 2_000, `the node to exit (stderr: ${node.stderr()})`);
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    killLeftover(node.child);
  }
});

test('a node whose stdout reader has gone drains its sessions and exits 0 on SIGTERM', async () => {
  const node = await serveWithClosedStdout();
  try {
    const session = await connect(`ws://127.0.0.1:${node.port}/ws`, { origin: `http://localhost:${node.port}` });
    // Something to log into the broken pipe before the signal.
    await fetch(`http://127.0.0.1:${node.port}/api/nope`).catch(() => undefined);
    node.child.kill('SIGTERM');
    const closed = await within(session.closed, DRAIN_TIMEOUT_MS, 'the session to be drained');
    assert.equal(closed.code, 1012);
    const exit = await within(node.exited, DRAIN_TIMEOUT_MS + 2_000, `the node to exit (stderr: ${node.stderr()})`);
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    killLeftover(node.child);
  }
});

test('a log reader that stops reading holds neither the event loop nor the exit', async () => {
  const logger = new URL('../../dist/server/observability/logger.js', import.meta.url).href;
  // 200,000 lines (about 20 MB) into a pipe nobody reads, then a timer that must still fire, then exit.
  const script = `
    import { createLogger } from ${JSON.stringify(logger)};
    const log = createLogger('info');
    for (let i = 0; i < 200000; i++) log.info({ i }, 'a line nobody reads');
    const armed = Date.now();
    setTimeout(() => { process.stderr.write('timer after ' + (Date.now() - armed) + ' ms\\n'); process.exit(0); }, 10);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pause();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    const [code] = await within(new Promise<[number | null]>((resolve) => child.once('exit', (exitCode) => resolve([exitCode]))), 15_000, 'the process to exit');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /timer after \d+ ms/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
