import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, isPortFree } from './ports.js';

/** The shared servers on this machine; tests that never kill a server use them with a unique prefix. */
export const SHARED_REDIS_URL = process.env.WSGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const SHARED_NATS_URL = process.env.WSGATE_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export interface ServerProcess {
  readonly port: number;
  readonly url: string;
  /** Kills the server and waits for the process to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (for outage tests). */
  restart(): Promise<void>;
}

/** Spawns a server and resolves once it prints `readyLine` (on stdout or stderr); rejects if it exits first. */
function spawnUntilReady(command: string, args: string[], readyLine: RegExp, cwd?: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (readyLine.test(output)) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        // Keep draining so a chatty server never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${command} exited (${code}) before it was ready:\n${output}`));
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * A private `redis-server` on a free port. Nothing persisted, unless `persistent`: then every write is in an
 * append-only file (fsync always) in a temporary directory, so a restart — even after SIGKILL — loses nothing.
 */
export async function startRedis(options: { persistent?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const dir = options.persistent ? await mkdtemp(join(tmpdir(), 'wsgate-redis-')) : undefined;
  // Kept across stop/restart (that is the point); removed with the test process.
  if (dir) process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const persistence = dir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence];
  const ready = /Ready to accept connections/;
  let child = await spawnUntilReady('redis-server', args, ready);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => kill(child),
    async restart() {
      await kill(child);
      child = await spawnUntilReady('redis-server', args, ready);
    },
  };
}

/** A private `nats-server` on a free port. */
export async function startNats(): Promise<ServerProcess> {
  const port = await freePort();
  const args = ['-p', String(port), '-a', '127.0.0.1'];
  const ready = /Server is ready/;
  let child = await spawnUntilReady('nats-server', args, ready);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    stop: () => kill(child),
    async restart() {
      await kill(child);
      child = await spawnUntilReady('nats-server', args, ready);
    },
  };
}

export interface RedisClusterProcess {
  /** Seed URLs, one per master. */
  readonly urls: string[];
  stop(): Promise<void>;
  /** Kills master `index` (its slots go dark: there are no replicas). */
  stopNode(index: number): Promise<void>;
  /** Starts master `index` again on its port; it rejoins with its slots (from its cluster config file), without data. */
  startNode(index: number): Promise<void>;
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10000 <= 65535 && !taken.has(port) && (await isPortFree(port + 10000))) return port;
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

/** Three masters (no replicas) joined into a Redis Cluster, each with its own temporary directory. */
export async function startRedisCluster(): Promise<RedisClusterProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await clusterPort(taken);
    taken.add(port);
    ports.push(port);
  }
  const spawnNode = (port: number) =>
    spawnUntilReady(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
      /Ready to accept connections/,
      dir,
    );
  const children = await Promise.all(ports.map(spawnNode));
  const stop = async () => {
    await Promise.all(children.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      create.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      create.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      create.once('error', reject);
      create.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed (${code}):\n${output}`))));
    });
    // `--cluster create` returns once slots are assigned; every node must also agree the cluster is ok.
    for (const port of ports) {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      client.on('error', () => {});
      try {
        await client.connect();
        // A start-up bound only: on a loaded machine the nodes can take a while to agree.
        const deadline = Date.now() + 60_000;
        while (!/cluster_state:ok/.test(String(await client.cluster('INFO')))) {
          if (Date.now() > deadline) throw new Error(`cluster node ${port} never reached cluster_state:ok`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        client.disconnect();
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    stop,
    stopNode: (index) => kill(children[index]!),
    async startNode(index) {
      await kill(children[index]!);
      children[index] = await spawnNode(ports[index]!);
    },
  };
}
