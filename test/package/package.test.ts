/**
 * The package as users get it: `npm pack`, installed from the tarball into a fresh project (its dependencies from the
 * registry, through npm's cache), then run with `npx wsgate`, imported, and compiled against. Fails when the tarball
 * misses something the installed package needs or ships something that is only for developing wsgate.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { openNative } from '../helpers/native-client.js';
import { freePort } from '../support/ports.js';
import { within } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONSUMER_FILES = fileURLToPath(new URL('./consumer/', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

interface Manifest {
  version: string;
  bin: Record<string, string>;
  exports: Record<string, { types: string; default: string }>;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest;

/** What the tarball may hold: the build (no maps but the browser bundle's), the demo page, the docs, and the usual. */
const SHIPPED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/,
  /^dist\/.+\.(js|d\.ts)$/, /^dist\/web\/wsgate-client\.js\.map$/,
  /^web\/[\w.-]+\.(html|css|js)$/, /^web\/admin\/index\.html$/, /^dist\/web\/admin\/console\.css$/,
  /^docs\/[\w.-]+\.(md|yaml)$/,
];
/** What it must hold: every entry point, the bin, the bundle, the demo and the console the gateway serves. */
const REQUIRED = [
  'LICENSE', 'README.md', 'dist/web/wsgate-client.js', 'web/index.html',
  // The operator console: its page and its bundle (script and stylesheet, uPlot inside).
  'web/admin/index.html', 'dist/web/admin/console.js', 'dist/web/admin/console.css',
  ...Object.values(manifest.bin),
  ...Object.values(manifest.exports).flatMap((entry) => [entry.types, entry.default]),
].map((path) => path.replace(/^\.\//, ''));

/** npm and the processes it starts run on this test's Node, so their engine checks see the supported runtime. */
const env = { ...process.env, PATH: [dirname(process.execPath), process.env.PATH].join(delimiter), npm_config_update_notifier: 'false' };
const run = (command: string, args: string[], cwd: string, timeout = 120_000) =>
  promisify(execFile)(command, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 });

describe('the npm package', { timeout: 180_000 }, () => {
  let work: string;
  let consumer: string;
  let files: Array<{ path: string; mode: number }>;
  let installOutput: string;

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is missing: run npm run build first (npm test does)');
    work = await mkdtemp(join(tmpdir(), 'wsgate-package-'));
    // The build npm test made just before: --ignore-scripts, so packing does not rebuild dist/ under running tests.
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
    const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string; mode: number }> }>;
    files = tarball!.files;

    consumer = join(work, 'app');
    await run('mkdir', ['-p', consumer], work);
    await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'wsgate-consumer', private: true, type: 'module' }));
    // A TypeScript application on Node has its own @types/node; wsgate brings the declarations its own types use.
    const nodeTypes = `@types/node@${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']}`;
    const installed = await run('npm', ['install', join(work, tarball!.filename), nodeTypes, '--prefer-offline', '--no-audit', '--no-fund'], consumer);
    installOutput = installed.stdout + installed.stderr;
    for (const name of ['use-package.mjs', 'server.ts', 'browser.ts']) await copyFile(join(CONSUMER_FILES, name), join(consumer, name));
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the tarball holds the build, the demo page, the docs, README and LICENSE, and nothing only for development', () => {
    const paths = files.map((file) => file.path);
    const unexpected = paths.filter((path) => !SHIPPED.some((pattern) => pattern.test(path)));
    assert.deepEqual(unexpected, [], 'files that are not for users (tests, sources, scripts, source maps...)');
    for (const path of REQUIRED) assert.ok(paths.includes(path), `${path} is shipped`);
    // Output of a source that no longer exists would be shipped by a dist/ that was not rebuilt from scratch.
    const stale = paths.filter((path) => /^dist\/(cli|client|protocol|server)\/.+\.js$/.test(path))
      .filter((path) => !existsSync(join(ROOT, path.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))));
    assert.deepEqual(stale, [], 'stale build output: rm -rf dist && npm run build');
    assert.doesNotMatch(installOutput, /EBADENGINE|ERR!/, installOutput);
  });

  test('every package the shipped code imports is one of its dependencies', async () => {
    const declared = new Set([manifest.dependencies, manifest.optionalDependencies, manifest.peerDependencies].flatMap((deps) => Object.keys(deps ?? {})));
    const entryPoints = [...Object.values(manifest.bin), ...Object.values(manifest.exports).map((entry) => entry.default)];
    // The import graph of every entry point, static and dynamic, with every bare import left unresolved.
    const result = await build({
      entryPoints: entryPoints.map((entry) => join(consumer, 'node_modules', 'wsgate', entry)),
      bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', outdir: work, logLevel: 'silent',
    });
    const builtins = new Set(builtinModules);
    const imported = new Set(Object.values(result.metafile.outputs).flatMap((output) => output.imports)
      .filter((entry) => entry.external && !entry.path.startsWith('node:') && !builtins.has(entry.path))
      .map((entry) => entry.path.split('/').slice(0, entry.path.startsWith('@') ? 2 : 1).join('/')));
    assert.ok(imported.size > 5, `found the imports: ${[...imported].join(', ')}`);
    assert.deepEqual([...imported].filter((name) => !declared.has(name)), [], 'imported but not in dependencies');
  });

  test('npx wsgate runs from the installed package: --version, serve with the demo, the browser bundle and sessions, drain on SIGTERM', async () => {
    // `--` so that npx hands --version to wsgate instead of answering it.
    const version = await run('npx', ['--no', '--', 'wsgate', '--version'], consumer);
    assert.equal(version.stdout.trim(), manifest.version);

    const port = await freePort();
    const child = spawn('npx', ['--no', 'wsgate', 'serve', '--dev', '--port', String(port), '--host', '127.0.0.1'], {
      cwd: consumer, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // npm exec ends with the signal; the gateway, its grandchild, logs `stopped` when its drain is done.
    const drained = new Promise<void>((resolve) => child.stdout.on('data', () => output.includes('"msg":"stopped"') && resolve()));
    try {
      const listening = await within(new Promise<Record<string, unknown>>((resolve, reject) => {
        child.stdout.on('data', () => {
          const line = output.split('\n').find((text) => text.includes('"wsgate listening"'));
          if (line) resolve(JSON.parse(line) as Record<string, unknown>);
        });
        void exited.then((code) => reject(new Error(`npx wsgate serve exited (${code}):\n${output}`)));
      }), 20_000, 'npx wsgate serve to listen');
      assert.equal(listening.runtime, process.version);
      const base = `http://127.0.0.1:${port}`;

      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const bundle = await fetch(`${base}/client.js`);
      assert.equal(bundle.status, 200);
      assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
      const shipped = await readFile(join(consumer, 'node_modules', 'wsgate', 'dist', 'web', 'wsgate-client.js'), 'utf8');
      assert.equal(await bundle.text(), shipped, 'the bundle served is the one in the package');

      const watcher = openNative(`ws://127.0.0.1:${port}/ws`);
      await within(watcher.welcome, 5_000, 'welcome');
      const subscribed = watcher.next('subscribed');
      watcher.send({ type: 'subscribe', id: 1, channel: 'chat:lobby' });
      await within(subscribed, 5_000, 'subscribed');
      const message = watcher.next('message');

      // The package's three entry points, used by an application: its client publishes to the served gateway.
      const used = await run(process.execPath, ['use-package.mjs', `ws://127.0.0.1:${port}/ws`], consumer, 20_000);
      const seen = JSON.parse(used.stdout) as Record<string, unknown>;
      assert.deepEqual(seen, { data: { text: 'from the package' }, health: 200, restart: 1012, codes: seen.codes, subprotocol: 'wsgate.v1.json' });
      assert.ok(Number(seen.codes) > 10);
      // CommonJS applications load the ES modules with require() (Node 22.12 and later).
      const required = await run(process.execPath, ['-e', "const { Gateway } = require('wsgate'); const { WsgateClient } = require('wsgate/client'); const { CloseCode } = require('wsgate/protocol'); console.log(typeof Gateway.create, typeof WsgateClient, CloseCode.SERVICE_RESTART)"], consumer, 20_000);
      assert.equal(required.stdout.trim(), 'function function 1012');
      assert.deepEqual((await within(message, 5_000, 'the publication')).data, { text: 'from the package' });

      // To the whole group, as a terminal's Ctrl-C or systemd does: npm exec would die of the signal without passing it
      // on, and the gateway would go on running (docs/deployment.md: signal the gateway itself).
      process.kill(-child.pid!, 'SIGTERM');
      assert.equal((await within(watcher.closed, 10_000, 'the drain')).code, 1012);
      await within(exited, 10_000, 'npx wsgate serve to exit');
      await within(drained, 10_000, 'the gateway to log that it stopped');
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  });

  test('types resolve under moduleResolution node16 and bundler, and the client\'s without Node types', async () => {
    const strict = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2022' };
    const configs = {
      'tsconfig.node16.json': { compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16', types: ['node'] }, files: ['server.ts'] },
      'tsconfig.bundler.json': { compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', types: ['node'] }, files: ['server.ts'] },
      'tsconfig.browser.json': { compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', lib: ['es2023', 'dom'], types: [] }, files: ['browser.ts'] },
    };
    for (const [name, config] of Object.entries(configs)) {
      await writeFile(join(consumer, name), JSON.stringify(config));
      const result = await run(process.execPath, [TSC, '-p', name], consumer).then(() => null, (error: { stdout: string }) => error.stdout);
      assert.equal(result, null, `${name}:\n${result}`);
    }
  });
});
