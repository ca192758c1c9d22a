/**
 * The publisher process: one publishing client plus one probe subscriber, driven over IPC by bench/run.ts.
 *
 * - `rate`: open loop at a fixed offered rate, paced against the clock so a late timer catches up instead of drifting.
 * - `saturate`: closed loop, at most `window` publications in flight. The probe subscribes after every worker's
 *   subscriber, so it is last in the server's fan-out order: when it receives publication k, the server has walked
 *   the whole subscriber list for k. That keeps the server busy without letting its buffers grow without bound.
 */
import { openClient, type LoadClient } from './client-drivers.js';
import type { ConnectSpec, PublishResult, PublisherCommand } from './messages.js';
import { monotonicUs } from '../metrics.js';
import { makePayload } from './payload.js';

/** A closed loop that hears nothing from the probe for this long has lost publications; it stops rather than hang. */
const STALL_MS = 3000;

let publisher: LoadClient | undefined;
let probe: LoadClient | undefined;
let errors = 0;
let seq = 0;
/** Called on each probe delivery while a saturation run is active. */
let onProbeDelivery: (() => void) | undefined;

async function connect(spec: ConnectSpec, probeUrl?: string): Promise<void> {
  publisher = await openClient({ ...spec, subscribe: false }, 0, {
    onDelivery: () => {},
    onReply: (type) => {
      if (type === 'error') errors++;
    },
    onClose: () => {},
  });
  probe = await openClient({ ...spec, urls: [probeUrl ?? spec.urls[0]!], subscribe: true }, 0, {
    onDelivery: () => onProbeDelivery?.(),
    onClose: () => {},
  });
}

function result(sent: number, startUs: number, stalled = false): PublishResult {
  return { ev: 'done', sent, startUs, elapsedMs: (monotonicUs() - startUs) / 1000, errors, stalled };
}

function runAtRate(client: LoadClient, rate: number, durationMs: number): Promise<PublishResult> {
  errors = 0;
  const total = Math.round((rate * durationMs) / 1000);
  const startUs = monotonicUs();
  let sent = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((monotonicUs() - startUs) * rate) / 1e6) + 1);
      for (; sent < due; sent++) client.send(makePayload(seq++));
      if (sent >= total) {
        clearInterval(timer);
        resolve(result(sent, startUs));
      }
    }, 1);
  });
}

function saturate(client: LoadClient, window: number, durationMs: number): Promise<PublishResult> {
  errors = 0;
  const startUs = monotonicUs();
  const endUs = startUs + durationMs * 1000;
  let sent = 0;
  let inFlight = 0;
  let lastProgressUs = startUs;
  return new Promise((resolve) => {
    const finish = (stalled: boolean): void => {
      clearInterval(watchdog);
      onProbeDelivery = undefined;
      resolve(result(sent, startUs, stalled));
    };
    const fill = (): void => {
      for (; inFlight < window && monotonicUs() < endUs; sent++, inFlight++) client.send(makePayload(seq++));
      if (inFlight === 0) finish(false);
    };
    onProbeDelivery = () => {
      inFlight--;
      lastProgressUs = monotonicUs();
      fill();
    };
    const watchdog = setInterval(() => {
      if (monotonicUs() - lastProgressUs > STALL_MS * 1000) finish(true);
    }, 250);
    fill();
  });
}

process.on('message', (message: PublisherCommand) => {
  const reply = (value: unknown): void => void process.send?.(value);
  switch (message.cmd) {
    case 'connect':
      connect(message.spec, message.probeUrl).then(
        () => reply({ ev: 'connected' }),
        (error: unknown) => reply({ ev: 'failed', error: error instanceof Error ? error.message : String(error) }),
      );
      break;
    case 'rate':
      if (publisher) void runAtRate(publisher, message.rate, message.durationMs).then(reply);
      break;
    case 'saturate':
      if (publisher) void saturate(publisher, message.window, message.durationMs).then(reply);
      break;
    case 'close':
      publisher?.close();
      probe?.close();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});

process.on('disconnect', () => process.exit(0));
