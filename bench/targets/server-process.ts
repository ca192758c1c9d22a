import { createConnection, createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nextMessage, spawnServer, stopChild } from '../processes.js';
import type { HeapReading } from '../servers/heap-probe.js';
import type { MemorySample } from './target.js';

const heapProbe = fileURLToPath(new URL('../servers/heap-probe.ts', import.meta.url));

/**
 * Node flags every server under test gets: a collectable heap and the heap probe. tsx is loaded first so the probe
 * (TypeScript) can be imported; it only hooks module loading and costs nothing once the server runs.
 */
export const SERVER_NODE_FLAGS = ['--expose-gc', '--import', 'tsx', '--import', heapProbe];

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

function wrap(child: ChildProcess, port: number): ServerProcess {
  const pid = child.pid ?? 0;
  return {
    child,
    pid,
    port,
    async memory() {
      child.send({ cmd: 'heap' });
      const reply = await nextMessage(
        child,
        (m) => ((m as { ev?: string }).ev === 'heap' ? (m as { asLeft: HeapReading; reduced: HeapReading }) : undefined),
        10_000,
        'heap report',
      );
      // The probe's own readings, each right after its collection, so RSS and heap describe the same moment.
      return {
        rssBytes: reply.asLeft.rss,
        heapUsedBytes: reply.asLeft.heapUsed,
        youngGenerationBytes: reply.asLeft.youngGeneration,
        reduced: { rssBytes: reply.reduced.rss, heapUsedBytes: reply.reduced.heapUsed, externalBytes: reply.reduced.external },
      };
    },
    stop: () => stopChild(child),
  };
}

/**
 * Start a bench-owned server that listens on port 0 and announces `{ev: 'listening', port}` over IPC, on the bench's
 * Node or on `nodePath`.
 */
export async function startAnnouncingServer(name: string, args: string[], nodePath?: string): Promise<ServerProcess> {
  const child = spawnServer(name, [...SERVER_NODE_FLAGS, ...args], {}, nodePath);
  const port = await nextMessage(
    child,
    (m) => ((m as { ev?: string }).ev === 'listening' ? (m as { port: number }).port : undefined),
    20_000,
    `${name} to listen`,
  );
  return wrap(child, port);
}

/** A port that was free a moment ago, for servers that take their port from configuration. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Wait until something accepts TCP connections on `port`, or the process exits, or the timeout passes. */
export async function waitForPort(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
}

/** Start a server that listens on a port we chose (wsgate, redis-server) and wait for it. */
export async function startPortServer(
  name: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<ServerProcess> {
  const child = spawnServer(name, [...SERVER_NODE_FLAGS, ...args], env);
  await waitForPort(child, port, 20_000);
  return wrap(child, port);
}
