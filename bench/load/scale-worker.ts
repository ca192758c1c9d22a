/**
 * A load process of the scale scenario: `count` wsgate sessions, each a ticket (`POST /api/tickets` with the API key,
 * on its own connection) and then a handshake with `?ticket=` through the same balancer, both within the SDK's connect
 * timeout, held open and idle (pings answered). A session that drops, or an attempt that fails, tries again the way the
 * client SDK does (a fresh ticket, full-jitter exponential backoff from 500 ms), so a killed node's sessions come back
 * through the balancers on their own. Failed attempts are counted by reason, drops by how they ended. Driven over IPC
 * (ScaleCommand).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/client/backoff.js';
import { monotonicUs } from '../metrics.js';
import type { ConnectSpec, ScaleCommand, ScaleConnected, ScaleReport } from './messages.js';
import { HandshakeRefused, openRawClient, type RawClient } from './raw-client.js';
import { requestTicket, TicketError } from './ticket-request.js';

/** The client SDK's `connectTimeout`: one deadline over the ticket and the handshake, then the attempt is abandoned. */
const CONNECT_TIMEOUT_MS = 10_000;

interface Session {
  readonly index: number;
  client?: RawClient;
  /** Set by `watch`: the node it was on when that node was about to die. */
  watchedNode?: string;
}

const sessions: Session[] = [];
const failures: Record<string, number> = {};
const dropReasons: Record<string, number> = {};
let spec: ConnectSpec | undefined;
let balancers: URL[] = [];
let drops = 0;
let attempts = 0;
let watched = 0;
let backAtUs: number[] = [];
let closing = false;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const count = (into: Record<string, number>, key: string): void => {
  into[key] = (into[key] ?? 0) + 1;
};

/** A short, countable reason: `ticket HTTP 429`, `handshake: HTTP 503`, `handshake tcp ECONNREFUSED`, ... */
function reasonOf(error: unknown): string {
  if (error instanceof TicketError || error instanceof HandshakeRefused) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code) return `handshake tcp ${code}`;
  return message.slice(0, 80);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One attempt as the SDK makes it: a fresh ticket right before the handshake, both within CONNECT_TIMEOUT_MS. */
async function attempt(session: Session): Promise<RawClient> {
  attempts++;
  const startedAt = performance.now();
  const balancer = balancers[session.index % balancers.length]!;
  const ticket = await requestTicket(balancer.hostname, Number(balancer.port), spec!.ticketApiKey!, `bench-${session.index}`, CONNECT_TIMEOUT_MS);
  const left = CONNECT_TIMEOUT_MS - (performance.now() - startedAt);
  if (left <= 0) throw new Error('handshake timed out');
  return openRawClient(spec!, session.index, false, { onDelivery() {}, onClose: (why) => dropped(session, why) }, { ticket, timeoutMs: left });
}

/**
 * Opens `session` (again), retrying with backoff until it is welcomed or the process is closing. A refusal's
 * `Retry-After` (NODE_BUSY) is waited on top of the jittered backoff, as the SDK does.
 */
async function open(session: Session, firstDelay: boolean): Promise<void> {
  let retryAfter = 0;
  for (let tries = 0; !closing; tries++) {
    if (firstDelay || tries > 0) await sleep(backoffDelay(tries, DEFAULT_BACKOFF) + retryAfter);
    if (closing) return;
    try {
      const client = await attempt(session);
      session.client = client;
      if (session.watchedNode !== undefined && client.node !== session.watchedNode) {
        backAtUs.push(monotonicUs());
        session.watchedNode = undefined;
      }
      return;
    } catch (error) {
      count(failures, reasonOf(error));
      retryAfter = error instanceof HandshakeRefused ? error.retryAfterMs ?? 0 : 0;
    }
  }
}

function dropped(session: Session, why: string): void {
  session.client = undefined;
  if (closing) return;
  drops++;
  count(dropReasons, why);
  void open(session, true);
}

async function connectAll(count: number, firstIndex: number, concurrency: number): Promise<ScaleConnected> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const session: Session = { index: firstIndex + next++ };
      sessions.push(session);
      await open(session, false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { ev: 'connected', opened: sessions.filter((s) => s.client).length, elapsedMs: performance.now() - started };
}

function report(): ScaleReport {
  const byNode: Record<string, number> = {};
  for (const session of sessions) {
    const node = session.client?.node;
    if (node !== undefined) byNode[node] = (byNode[node] ?? 0) + 1;
  }
  const cpu = process.cpuUsage();
  return {
    ev: 'report',
    byNode,
    failures: { ...failures },
    drops,
    dropReasons: { ...dropReasons },
    attempts,
    watched,
    backAtUs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapUsedBytes: process.memoryUsage().heapUsed,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
}

process.on('message', (message: ScaleCommand) => {
  switch (message.cmd) {
    case 'connect':
      spec = message.spec;
      balancers = spec.urls.map((url) => new URL(url));
      void connectAll(message.count, message.firstIndex, message.concurrency).then((result) => process.send?.(result));
      break;
    case 'watch':
      loopDelay.reset();
      watched = 0;
      backAtUs = [];
      for (const session of sessions) {
        if (session.client?.node === message.node) {
          session.watchedNode = message.node;
          watched++;
        }
      }
      process.send?.(report());
      break;
    case 'report':
      process.send?.(report());
      break;
    case 'close':
      closing = true;
      for (const session of sessions) session.client?.close();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});

process.on('disconnect', () => process.exit(0));
