/**
 * deploy/systemd: the unit passes `systemd-analyze verify` without a warning and its exposure level, as
 * `systemd-analyze security` rates the hardening, stays low; its stop timeout covers the drain of the config it runs.
 * Both checks are skipped, saying so, where systemd-analyze is not installed.
 */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configEnvironment, loadConfig } from '../../src/server/config/load.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'deploy', 'systemd');
const UNIT = readFileSync(join(DIR, 'wsgate@.service'), 'utf8');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
/** Where the unit expects the package (`npm install --prefix /opt/wsgate wsgate`). */
const INSTALLED = '/opt/wsgate/node_modules/wsgate/';
/** The highest exposure level the hardening may leave (systemd-analyze security: 0 is best, 10 worst; under 2 is "OK"). */
const MAX_EXPOSURE = 2;

/** `[Service]` → key → every value it is given, in order. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      sections.set(section[1]!, (current = new Map()));
      continue;
    }
    const [key, ...value] = line.split('=');
    assert.ok(current, `${line}: outside a section`);
    current.set(key!, [...(current.get(key!) ?? []), value.join('=')]);
  }
  return sections;
}

const service = parseUnit(UNIT).get('Service')!;
const last = (key: string) => service.get(key)?.at(-1);

function systemdAnalyze(t: TestContext): string | undefined {
  const found = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'systemd-analyze')).find((path) => existsSync(path));
  if (!found) t.skip('systemd-analyze is not installed (Debian package systemd): the unit is not verified here');
  return found;
}

/** The unit as it would be installed on this machine: its node and package paths point at this repository's. */
async function localCopy(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-systemd-'));
  const path = join(dir, 'wsgate@.service');
  await writeFile(path, UNIT.replace('/usr/bin/node ', `${process.execPath} `).replaceAll(INSTALLED, ROOT));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

describe('systemd unit', () => {
  test('systemd-analyze verify accepts it without a warning', async (t) => {
    const analyze = systemdAnalyze(t);
    if (!analyze) return;
    const unit = await localCopy();
    try {
      const { stderr } = await promisify(execFile)(analyze, ['verify', unit.path]);
      assert.equal(stderr.trim(), '', 'no unknown key, bad value or missing executable');
    } finally {
      await unit.cleanup();
    }
  });

  test(`systemd-analyze security rates its exposure ${MAX_EXPOSURE} or lower`, async (t) => {
    const analyze = systemdAnalyze(t);
    if (!analyze) return;
    const unit = await localCopy();
    try {
      const result = await promisify(execFile)(analyze, ['security', '--offline=true', unit.path])
        .catch((error: { stdout: string }) => ({ stdout: error.stdout }));
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout);
      assert.ok(level, result.stdout);
      console.log(`systemd-analyze security: exposure ${level[1]} (0 best, 10 worst)`);
      assert.ok(Number(level[1]) <= MAX_EXPOSURE, `exposure ${level[1]}:\n${result.stdout}`);
    } finally {
      await unit.cleanup();
    }
  });

  test('it runs the package\'s CLI on the example config, stops with SIGTERM within the drain, and keeps V8\'s JIT', () => {
    const [node, script, ...args] = last('ExecStart')!.split(/\s+/);
    assert.equal(node, '/usr/bin/node');
    assert.equal(script, `${INSTALLED}${manifest.bin.wsgate}`);
    assert.deepEqual(args, ['serve', '--config', '/etc/wsgate/wsgate.yaml']);

    // The example config the unit's comments point at; its instances share one port.
    const config = loadConfig({ file: join(DIR, 'wsgate.yaml') });
    assert.equal(config.reusePort, true);
    assert.equal(last('KillSignal'), 'SIGTERM');
    assert.equal(last('KillMode'), 'mixed', 'the signal goes to the node alone; whatever remains is killed at the timeout');
    const stopSeconds = Number(/^(\d+)s?$/.exec(last('TimeoutStopSec') ?? '')?.[1]);
    assert.ok(stopSeconds * 1000 >= config.drain.timeoutMs + 5_000, `TimeoutStopSec ${stopSeconds} s leaves 5 s after drain.timeoutMs (${config.drain.timeoutMs} ms)`);
    assert.ok(Number(last('LimitNOFILE')) > config.limits.maxSessions, 'a descriptor for every session the node accepts');
    assert.notEqual(last('MemoryDenyWriteExecute'), 'yes', 'V8 executes the code it compiles');
    assert.equal(last('DynamicUser'), 'yes');

    const known = configEnvironment();
    const variables = readFileSync(join(DIR, 'wsgate.env.example'), 'utf8').split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => line.split('=')[0]!);
    for (const name of [...variables, ...(service.get('Environment') ?? []).map((pair) => pair.split('=')[0]!)]) {
      if (name.startsWith('WSGATE_')) assert.ok(known.has(name), `${name} is a wsgate setting`);
    }
  });
});
