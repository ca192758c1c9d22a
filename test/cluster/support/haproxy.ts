import { waitFor } from '../../support/wait.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHaproxyConfig } from '../../../deploy/haproxy/render-config.mjs';
import { freePort } from '../../support/ports.js';
import { exited, OutputTail, track } from './processes.js';
import { type NodeProcess } from './node.js';

export const HAPROXY_PATH = process.env.WSGATE_HAPROXY ?? '/usr/sbin/haproxy';

export interface Balancer {
  readonly port: number;
  /** The HAProxy process (for its CPU time and memory). */
  readonly pid: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The ACL file of paths whose WebSocket upgrades are refused (with `denyWebSocketPaths`). */
  readonly denyFile: string;
  /** Server states by name (node1, node2, ...): UP, DOWN, MAINT, DRAIN, ... from the stats CSV. */
  states(): Promise<Record<string, string>>;
  /** Every column of the stats CSV for each server of the nodes' backend (`chkdown`, `wretr`, `wredis`, `econ`, ...). */
  serverStats(): Promise<Record<string, Record<string, string>>>;
  /** The same for both backends from one read of the stats: `wsgate_nodes` and `wsgate_api`, servers by name. */
  backendStats(): Promise<Record<'wsgate_nodes' | 'wsgate_api', Record<string, Record<string, string>>>>;
  /** Sends a runtime API command (`set server wsgate_nodes/node1 state drain`). */
  admin(command: string): Promise<string>;
  /** The HAProxy server name of a node (`node1` for the first node given). */
  serverOf(node: Pick<NodeProcess, 'port'>): string;
  output(): string;
  /** Logged requests by status and termination state (`503 sQ--`: timed out in the queue), since start. */
  terminations(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * HAProxy in front of `nodes`, configured from deploy/haproxy/haproxy.cfg.template on free ports (fast health checks,
 * no per-IP connection limit worth the name). Resolves once every node is UP.
 */
export interface HaproxyOptions {
  /** PEM (certificate + key): the public bind terminates TLS, and the URLs are https/wss. */
  tlsCert?: string;
  /** `send-proxy-v2` to the nodes. */
  sendProxy?: boolean;
  /** Global `maxconn` (default 2000); HAProxy needs two file descriptors per proxied connection. */
  maxconn?: number;
  /** Paths to which WebSocket upgrades are refused at first; `admin('del acl <denyFile> /ws')` lets them through. */
  denyWebSocketPaths?: string[];
  /** Server API calls each node serves at once through this HAProxy (default 64). */
  apiMaxconn?: number;
  /** HAProxy threads (default: one per CPU). */
  nbthread?: number;
  /** false: only errors and timeouts are logged, not every connection (many thousands of sessions). */
  logNormal?: boolean;
  /** The loopback address HAProxy connects to the nodes from (127.0.0.1 when left out). */
  source?: string;
  /** Lines of HAProxy's output kept for `output()` (default 100, the last ones). */
  logLines?: number;
}

export async function startHaproxy(nodes: ReadonlyArray<Pick<NodeProcess, 'port'>>, checkInterval = '300ms', options: HaproxyOptions = {}): Promise<Balancer> {
  if (!existsSync(HAPROXY_PATH)) throw new Error(`${HAPROXY_PATH} is missing: run scripts/install-system-deps.sh`);
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-haproxy-'));
  const [port, statsPort] = [await freePort(), await freePort()];
  const adminSocket = join(dir, 'admin.sock');
  const denyFile = join(dir, 'deny-websocket.acl');
  const config = renderHaproxyConfig({
    nodes: nodes.map((node) => `127.0.0.1:${node.port}`),
    bind: `127.0.0.1:${port}`,
    statsBind: `127.0.0.1:${statsPort}`,
    adminSocket,
    checkInterval,
    maxconn: options.maxconn ?? 2000,
    connRateLimit: 100_000,
    tlsCert: options.tlsCert,
    sendProxy: options.sendProxy,
    denyWebSocketPaths: options.denyWebSocketPaths ? denyFile : undefined,
    apiMaxconn: options.apiMaxconn,
    nbthread: options.nbthread,
    logNormal: options.logNormal,
    source: options.source,
  });
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  if (options.denyWebSocketPaths) await writeFile(denyFile, options.denyWebSocketPaths.map((path) => `${path}\n`).join(''));
  // -db: stay in the foreground, so killing the child kills HAProxy.
  const child = spawn(HAPROXY_PATH, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const tail = new OutputTail(options.logLines ?? 100);
  const terminations: Record<string, number> = {};
  // An httplog line: `... <status> <bytes> <req cookie> <resp cookie> <termination state> ...`.
  const countTermination = (line: string): void => {
    const match = / (\d{3}) \d+ \S+ \S+ ([A-Za-z-]{4}) /.exec(line);
    if (match) terminations[`${match[1]} ${match[2]}`] = (terminations[`${match[1]} ${match[2]}`] ?? 0) + 1;
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk, countTermination));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk));
  const done = exited(child);

  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`;
  const balancer: Balancer = {
    port,
    pid: child.pid!,
    httpUrl: `${options.tlsCert ? 'https' : 'http'}://127.0.0.1:${port}`,
    wsUrl: `${options.tlsCert ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`,
    denyFile,
    async states() {
      return Object.fromEntries(Object.entries(await balancer.serverStats()).map(([server, row]) => [server, row.status!]));
    },
    async serverStats() {
      return (await balancer.backendStats()).wsgate_nodes;
    },
    async backendStats() {
      const csv = await (await fetch(statsUrl)).text();
      const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n').map((line) => line.split(','));
      const out: Record<'wsgate_nodes' | 'wsgate_api', Record<string, Record<string, string>>> = { wsgate_nodes: {}, wsgate_api: {} };
      for (const row of rows) {
        const named = Object.fromEntries(header!.map((name, i) => [name, row[i] ?? '']));
        if ((named.pxname === 'wsgate_nodes' || named.pxname === 'wsgate_api') && named.svname !== 'BACKEND') out[named.pxname][named.svname!] = named;
      }
      return out;
    },
    admin: (command) =>
      new Promise((resolve, reject) => {
        const socket = createConnection(adminSocket);
        let answer = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (answer += chunk));
        socket.on('end', () => resolve(answer.trim()));
        socket.on('error', reject);
        socket.end(`${command}\n`);
      }),
    serverOf(node) {
      const index = nodes.indexOf(node);
      if (index === -1) throw new Error(`the node on port ${node.port} is not behind this balancer`);
      return `node${index + 1}`;
    },
    output: () => tail.toString(),
    terminations: () => ({ ...terminations }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode})`);
      const states = await balancer.states().catch(() => ({} as Record<string, string>));
      return Object.keys(states).length === nodes.length && Object.values(states).every((state) => state === 'UP');
    }, 10_000, 'every node UP in HAProxy');
  } catch (error) {
    await balancer.stop();
    throw new Error(`${(error as Error).message}\n--- haproxy output ---\n${tail.toString()}`);
  }
  return balancer;
}
