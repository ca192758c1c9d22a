/**
 * A load process of the scale scenario: `count` wsgate sessions, each a ticket (`POST /api/tickets` with the API key)
 * and a handshake with `?ticket=` through the balancer, held open and idle. A session that drops reconnects the way the
 * client SDK does (a fresh ticket, full-jitter exponential backoff from 500 ms), so a killed node's sessions come back
 * through the balancer on their own. Every failed attempt is counted by reason. Driven over IPC (ScaleCommand).
 */
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/client/backoff.js';
import { monotonicUs } from '../metrics.js';
import type { ConnectSpec, ScaleCommand, ScaleConnected, ScaleReport } from './messages.js';
import { openRawClient, type RawClient } from './raw-client.js';

interface Session {
  readonly index: number;
  client?: RawClient;
  /** Set by `watch`: the node it was on when that node was about to die. */
  watchedNode?: string;
}

const sessions: Session[] = [];
const failures: Record<string, number> = {};
let spec: ConnectSpec | undefined;
let drops = 0;
let watched = 0;
let backAtUs: number[] = [];
let closing = false;

/** A short, countable reason: `ticket HTTP 429`, `handshake HTTP 503`, `tcp ECONNREFUSED`, ... */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (message.startsWith('POST /api/tickets')) return `ticket ${message.replace('POST /api/tickets: ', '')}`;
  if (message === 'fetch failed') return `ticket ${code ?? 'fetch failed'}`;
  if (message.startsWith('handshake')) return message;
  if (code) return `tcp ${code}`;
  return message.slice(0, 80);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `session` (again), retrying with backoff until it is welcomed or the process is closing. */
async function open(session: Session, firstDelay: boolean): Promise<void> {
  for (let attempt = 0; !closing; attempt++) {
    if (firstDelay || attempt > 0) await sleep(backoffDelay(attempt, DEFAULT_BACKOFF));
    if (closing) return;
    try {
      const client = await openRawClient(spec!, session.index, false, { onDelivery() {}, onClose: () => dropped(session) });
      session.client = client;
      if (session.watchedNode !== undefined && client.node !== session.watchedNode) {
        backAtUs.push(monotonicUs());
        session.watchedNode = undefined;
      }
      return;
    } catch (error) {
      const reason = reasonOf(error);
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
  }
}

function dropped(session: Session): void {
  session.client = undefined;
  if (closing) return;
  drops++;
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
  return { ev: 'report', byNode, failures: { ...failures }, drops, watched, backAtUs };
}

process.on('message', (message: ScaleCommand) => {
  switch (message.cmd) {
    case 'connect':
      spec = message.spec;
      void connectAll(message.count, message.firstIndex, message.concurrency).then((result) => process.send?.(result));
      break;
    case 'watch':
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
