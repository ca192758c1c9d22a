/**
 * A load process holding many subscribers (at most ~5,000: the open-file limit is 20,000 and one process's event loop
 * must keep up). It counts deliveries without looking at them; one subscriber in `sampleEvery` reads the publisher's
 * timestamp to measure latency. Driven over IPC by bench/run.ts (commands in messages.ts).
 *
 * Subscribers are raw TCP sockets walking WebSocket frames (raw-client.ts). `WSGATE_BENCH_LOAD_CLIENT=library` uses the
 * client libraries instead (`ws`, socket.io-client; client-drivers.ts), to compare the load generator's own cost.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { monotonicUs } from '../metrics.js';
import { openClient, type LoadClient } from './client-drivers.js';
import { openRawClient } from './raw-client.js';
import type { ConnectResult, ConnectSpec, WorkerCommand, WorkerReport } from './messages.js';
import { readTimestampUs } from './payload.js';

/** Bound on latency samples kept per run, so a long saturated run cannot balloon this process. */
const MAX_SAMPLES = 200_000;

const USE_LIBRARY = process.env.WSGATE_BENCH_LOAD_CLIENT === 'library';
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

const clients: LoadClient[] = [];
let received = 0;
let lastReceiveUs = 0;
let closed = 0;
let latenciesUs: number[] = [];

function countDelivery(): void {
  received++;
}

/** Sampled clients also stamp `lastReceiveUs`: every subscriber gets every publication, so the last sampled receipt
 * marks the end of delivery closely enough without a clock read on every frame. */
function sampleDelivery(frame?: Buffer | string): void {
  const now = monotonicUs();
  received++;
  lastReceiveUs = now;
  const sentUs = frame === undefined ? undefined : readTimestampUs(frame);
  if (sentUs !== undefined && latenciesUs.length < MAX_SAMPLES) latenciesUs.push(now - sentUs);
}

async function connectAll(
  spec: ConnectSpec,
  count: number,
  firstIndex: number,
  sampleEvery: number,
  concurrency: number,
): Promise<ConnectResult> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  // A bounded number of handshakes in flight: a burst of thousands would overflow the server's accept backlog and
  // measure SYN retries instead of the server.
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = firstIndex + next++;
      const sampled = index % sampleEvery === 0;
      try {
        const events = { onDelivery: sampled ? sampleDelivery : countDelivery, onClose: () => void closed++ };
        const client = USE_LIBRARY ? await openClient(spec, index, events) : await openRawClient(spec, index, sampled, events);
        clients.push(client);
      } catch (error) {
        failed++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { ev: 'connected', opened: clients.length, failed, elapsedMs: performance.now() - started, firstError };
}

function send(message: ConnectResult | WorkerReport | { ev: 'reset' }): void {
  process.send?.(message);
}

process.on('message', (message: WorkerCommand) => {
  switch (message.cmd) {
    case 'connect':
      void connectAll(message.spec, message.count, message.firstIndex, message.sampleEvery, message.concurrency).then(
        send,
      );
      break;
    case 'reset':
      received = 0;
      lastReceiveUs = 0;
      latenciesUs = [];
      loopDelay.reset();
      send({ ev: 'reset' });
      break;
    case 'report':
      send({
        ev: 'report',
        received,
        lastReceiveUs,
        latenciesUs,
        closed,
        loopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : NaN,
        loopDelayMaxMs: loopDelay.count > 0 ? loopDelay.max / 1e6 : NaN,
      });
      break;
    case 'close':
      for (const client of clients) client.close();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});

// The orchestrator went away (crash, Ctrl-C): do not linger holding sockets.
process.on('disconnect', () => process.exit(0));
