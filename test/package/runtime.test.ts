/**
 * wsgate runs on the Node it pins (scripts/project-node: the official binary, through the lockfile), whatever the
 * machine's own Node is: the test processes, and the gateway `npm start` runs from a shell whose `node` is another.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/ports.js';
import { within } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
const platformPackage = `node-${process.platform}-${process.arch}`;
/** The Node version the lockfile pins for this platform; none where the registry has no binary package for it. */
const pinned = lock.packages[`node_modules/${platformPackage}`]?.version;
const expected = pinned ? `v${pinned}` : process.version;
/** scripts/test-on-node.sh runs the tests on another version on purpose. */
const runner = process.env.WSGATE_TEST_NODE ? `v${process.env.WSGATE_TEST_NODE}` : expected;

/** `range` is `^x.y.z` alternatives joined by `||`, the only form `engines` uses here. */
function satisfies(version: string, range: string): boolean {
  const parse = (text: string) => text.replace(/^[v^]/, '').split('.').map(Number) as [number, number, number];
  const [major, minor, patch] = parse(version);
  return range.split('||').some((alternative) => {
    const [wantMajor, wantMinor, wantPatch] = parse(alternative.trim());
    return major === wantMajor && (minor > wantMinor || (minor === wantMinor && patch >= wantPatch));
  });
}

/** PATH as a shell outside the project has it: none of the project's own `node` binaries first. */
function shellPath(): string {
  return (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.startsWith(ROOT)).join(delimiter);
}

function onPath(command: string, path: string): boolean {
  return path.split(delimiter).some((entry) => existsSync(join(entry, command)));
}

describe('runtime', () => {
  test('the tests run on the Node the lockfile pins for this platform', { skip: pinned ? false : `no ${platformPackage} package pinned: running on ${process.version} from PATH` }, () => {
    assert.equal(process.version, runner, `the test runner is ${process.execPath}; run the tests with npm test`);
  });

  test('engines admits the pinned Node and the LTS lines from 22.12 (reusePort), nothing older', () => {
    const range = manifest.engines.node;
    for (const version of new Set([expected, process.version])) assert.ok(satisfies(version, range), `${version} satisfies ${range}`);
    for (const version of ['22.12.0', '22.23.5', '24.0.0']) assert.ok(satisfies(version, range), `${version} satisfies ${range}`);
    for (const version of ['20.20.2', '22.11.0', '23.11.0']) assert.ok(!satisfies(version, range), `${version} does not satisfy ${range}`);
  });

  test('`npm start` from a shell whose node is another runs the gateway on the pinned Node', { timeout: 30_000 }, async (t) => {
    const path = shellPath();
    if (!onPath('npm', path)) return t.skip('no npm on PATH outside the project');
    const port = await freePort();
    // Its own process group, so the signal reaches npm, its shell and the gateway alike.
    const child = spawn('npm', ['start', '--', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: ROOT, env: { ...process.env, PATH: path }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let output = '';
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        const line = output.split('\n').find((text) => text.includes('"wsgate listening"'));
        if (line) resolve(JSON.parse(line) as Record<string, unknown>);
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before listening:\n${output}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await within(listening, 20_000, `npm start to listen:\n${output}`);
      assert.equal(line.runtime, expected, output);
      assert.equal(line.port, port);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await within(exited, 10_000, 'npm start to stop').catch(() => process.kill(-child.pid!, 'SIGKILL'));
    }
  });
});
