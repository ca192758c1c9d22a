import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { connect, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { within } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

interface Node {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first log line (pino JSON) whose `msg` is `msg`, already printed or later. */
  logged(msg: string): Promise<Record<string, unknown>>;
}

const dirs: string[] = [];

/** Runs the compiled CLI (`npm run build` first) with a YAML config; resolves when it listens. */
async function serve(drain: Record<string, number>): Promise<Node> {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-drain-'));
  dirs.push(dir);
  const file = join(dir, 'wsgate.yaml');
  await writeFile(file, stringify({
    port: 0, host: '127.0.0.1', log: { level: 'info' }, apiKeys: ['drain-test-api-key-0123'],
    auth: { anonymous: true }, namespaces: { chat: { publish: true } }, drain,
  }));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ msg: string; resolve: (line: Record<string, unknown>) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      lines.push(line);
      for (const waiter of waiters.filter((candidate) => candidate.msg === line.msg)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const logged = (msg: string) => {
    const seen = lines.find((line) => line.msg === msg);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve) => waiters.push({ msg, resolve }));
  };
  const listening = await within(Promise.race([
    logged('wsgate listening'),
    exited.then(({ code }) => { throw new Error(`wsgate exited (${code}) before listening: ${stderr}`); }),
  ]), 15_000, 'wsgate to listen');
  return { child, port: listening.port as number, exited, logged };
}

function kill(node: Node): void {
  if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
}

after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('graceful drain of a real process', () => {
  test('SIGTERM: readyz fails at once, upgrades get 503, sessions are told to come back in batches with 1012, exit 0', async () => {
    const timeoutMs = 6_000;
    const node = await serve({ timeoutMs, batchSize: 2, batchIntervalMs: 400, reconnectSpreadMs: 1_500 });
    try {
      const url = `ws://127.0.0.1:${node.port}/ws`;
      const clients: TestClient[] = [];
      for (let i = 0; i < 5; i++) clients.push(await connect(url));
      assert.equal((await fetch(`http://127.0.0.1:${node.port}/readyz`)).status, 200);
      const told = clients.map((client) => client.next('disconnect').then((frame) => ({ frame, at: Date.now() })));

      const signalledAt = Date.now();
      node.child.kill('SIGTERM');
      await within(node.logged('shutting down'), 2_000, 'the shutdown to begin');
      const ready = await fetch(`http://127.0.0.1:${node.port}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as { draining: boolean }).draining, true);
      await assert.rejects(open(url), (error: HandshakeRefused) => error.status === 503 && error.code === 'DRAINING');
      const stillOpen = clients.filter((client) => client.ws.readyState === client.ws.OPEN).length;
      assert.ok(stillOpen >= 3, `the later batches were still connected when readyz and upgrades failed (${stillOpen} open)`);

      const disconnects = await within(Promise.all(told), timeoutMs, 'every session to be told');
      for (const { frame } of disconnects) {
        assert.equal(frame.code, 1012);
        assert.equal(frame.reconnect, true);
        assert.ok(typeof frame.after === 'number' && frame.after >= 0 && frame.after < 1_500, `after ${frame.after}`);
      }
      for (const client of clients) assert.equal((await client.closed).code, 1012);
      // Five sessions in batches of two, 400 ms apart: three groups.
      const times = disconnects.map(({ at }) => at).sort((a, b) => a - b);
      const gaps = times.slice(1).map((at, index) => at - times[index]!).filter((gap) => gap >= 250);
      assert.equal(gaps.length, 2, `batch gaps ${JSON.stringify(times.map((at) => at - times[0]!))}`);

      const exit = await within(node.exited, timeoutMs + 1_000, 'the process to exit');
      assert.equal(exit.code, 0);
      console.log(`drained 5 sessions in batches of 2 and exited ${exit.at - signalledAt} ms after SIGTERM`);
      assert.ok(exit.at - signalledAt <= timeoutMs, `exited ${exit.at - signalledAt} ms after SIGTERM`);
      assert.ok(await node.logged('stopped'));
    } finally {
      kill(node);
    }
  });

  test('a second signal exits at once', async () => {
    const node = await serve({ timeoutMs: 30_000, batchSize: 1, batchIntervalMs: 20_000, reconnectSpreadMs: 0 });
    try {
      const url = `ws://127.0.0.1:${node.port}/ws`;
      const first = await connect(url);
      const second = await connect(url);
      const told = Promise.race([first.next('disconnect'), second.next('disconnect')]);
      node.child.kill('SIGTERM');
      await within(told, 2_000, 'the first batch');
      const signalledAt = Date.now();
      node.child.kill('SIGINT');
      const exit = await within(node.exited, 2_000, 'the process to exit on the second signal');
      assert.notEqual(exit.code, 0);
      assert.ok(exit.at - signalledAt < 1_000, `exited ${exit.at - signalledAt} ms after the second signal`);
    } finally {
      kill(node);
    }
  });
});
