import { waitFor } from '../../support/wait.js';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { exited, OutputTail, track } from './processes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The compiled CLI the nodes run (`npm run build` first; `npm test` does). WSGATE_CLUSTER_CLI picks another build. */
export const CLI_PATH = process.env.WSGATE_CLUSTER_CLI ?? join(ROOT, 'dist', 'cli', 'main.js');

export const API_KEY = 'cluster-test-api-key-0123456789';

export interface NodeReadiness {
  status: string;
  draining: boolean;
  engine: 'up' | 'down';
}

export interface BrokerCounters {
  published: number;
  received: number;
  inboxSent: number;
  inboxReceived: number;
  subscriptions: number;
}

/** One gateway node running as its own process. */
export interface NodeProcess {
  readonly nodeId: string;
  readonly port: number;
  readonly pid: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Sends a signal (default SIGKILL) and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the node logged lately (stdout and stderr), for failure messages. */
  output(): string;
  readiness(): Promise<{ status: number; body: NodeReadiness }>;
  broker(): Promise<BrokerCounters>;
  /** Mints a ticket through this node's server API. */
  mintTicket(user: string | null, claims?: Record<string, unknown>): Promise<string>;
  api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

/** A config as the YAML file holds it; `port`, `host`, `apiKeys` and `log.level` are filled in when absent. */
export type NodeConfig = Record<string, unknown> & { nodeId: string };

/**
 * Starts `node dist/cli/main.js serve --config <tmp yaml>` and resolves once the node listens (port 0: the port is
 * read from its `wsgate listening` log line) and `/readyz` answers 200. Rejects with the node's output when it exits
 * or is not ready in time.
 */
export interface StartNodeOptions {
  /** Loopback address the test's own HTTP calls to the node come from (a node may trust 127.0.0.1 as its proxy). */
  localAddress?: string;
  /** Every line the node writes to stdout (its log). */
  onLine?: (line: string) => void;
  /** Variables added to the node's environment (`OTEL_*`). */
  env?: Record<string, string>;
}

export async function startNode(config: NodeConfig, readyTimeoutMs = 15_000, options: StartNodeOptions = {}): Promise<NodeProcess> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` first`);
  const dir = await mkdtemp(join(tmpdir(), 'wsgate-node-'));
  const file = join(dir, 'wsgate.yaml');
  const full = { port: 0, host: '127.0.0.1', apiKeys: [API_KEY], ...config, log: { level: 'info', ...(config.log as object | undefined) } };
  await writeFile(file, stringify(full));

  // The nodes get exactly the config file: no WSGATE_* variables leak in from the environment running the tests.
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('WSGATE_') && name !== 'PORT')), ...options.env };
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--config', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const tail = new OutputTail();
  const done = exited(child);
  void done.then(() => rm(dir, { recursive: true, force: true }));

  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      reject(failure(`node ${config.nodeId} did not listen within ${readyTimeoutMs} ms`));
      // Nobody holds this node: left running, its pipes would keep the test process alive for ever.
      child.kill('SIGKILL');
    }, readyTimeoutMs);
    const onListening = (line: string) => {
      options.onLine?.(line);
      if (!line.includes('"wsgate listening"')) return;
      try {
        const entry = JSON.parse(line) as { port?: number };
        if (typeof entry.port === 'number') {
          clearTimeout(timer);
          resolvePort(entry.port);
        }
      } catch {
        // Not a log line of ours.
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk, onListening));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk));
    void done.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(failure(`node ${config.nodeId} exited (${code ?? signal}) before it listened`));
    });
  });
  function failure(message: string): Error {
    return new Error(`${message}\n--- node output ---\n${tail.toString()}`);
  }

  // A node with `tls.cert` speaks HTTPS; the test trusts exactly that certificate.
  const certFile = (config.tls as { cert?: string } | undefined)?.cert;
  const ca = certFile ? readFileSync(certFile) : undefined;
  const httpUrl = `${ca ? 'https' : 'http'}://127.0.0.1:${port}`;
  const node: NodeProcess = {
    nodeId: config.nodeId,
    port,
    pid: child.pid!,
    httpUrl,
    wsUrl: `${ca ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`,
    exited: done,
    output: () => tail.toString(),
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return done;
    },
    async readiness() {
      const response = await call('GET', `${httpUrl}/readyz`, {}, undefined, ca, options.localAddress);
      return { status: response.status, body: JSON.parse(response.text) as NodeReadiness };
    },
    broker: async () => readBrokerCounters(httpUrl),
    async mintTicket(user, claims = {}) {
      const { status, body } = await node.api('POST', '/api/tickets', { user, claims });
      if (status !== 200) throw new Error(`ticket on ${config.nodeId}: ${status} ${JSON.stringify(body)}`);
      return (body as { ticket: string }).ticket;
    },
    async api(method, path, body) {
      const headers = { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
      const response = await call(method, `${httpUrl}${path}`, headers, body === undefined ? undefined : JSON.stringify(body), ca, options.localAddress);
      const text = response.text;
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Keep the text.
      }
      return { status: response.status, body: parsed };
    },
  };

  try {
    await waitFor(async () => (await node.readiness().catch(() => ({ status: 0 }))).status === 200, readyTimeoutMs, `node ${config.nodeId} /readyz`);
  } catch (error) {
    await node.kill();
    throw failure((error as Error).message);
  }
  return node;
}

/** One HTTP(S) request; over HTTPS only `ca` is trusted. */
function call(method: string, url: string, headers: Record<string, string>, body: string | undefined, ca?: Buffer, localAddress?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, localAddress, ...(ca ? { ca } : {}) }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The broker counters a node exposes on `/metrics` (`wsgate_broker_*`). */
export async function readBrokerCounters(httpUrl: string): Promise<BrokerCounters> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const value = (pattern: RegExp): number => {
    const match = pattern.exec(text);
    if (!match) throw new Error(`metric ${pattern} not exposed by ${httpUrl}/metrics`);
    return Number(match[1]);
  };
  return {
    published: value(/^wsgate_broker_publications_total\{direction="sent"\} (\S+)$/m),
    received: value(/^wsgate_broker_publications_total\{direction="received"\} (\S+)$/m),
    inboxSent: value(/^wsgate_broker_inbox_messages_total\{direction="sent"\} (\S+)$/m),
    inboxReceived: value(/^wsgate_broker_inbox_messages_total\{direction="received"\} (\S+)$/m),
    subscriptions: value(/^wsgate_broker_subscriptions (\S+)$/m),
  };
}

