import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, forkTs, nextMessage, stopChild } from '../processes.js';
import type { ConnectResult, ConnectSpec, WorkerCommand, WorkerReport } from '../load/messages.js';

const workerModule = fileURLToPath(new URL('../load/subscriber-worker.ts', import.meta.url));
/** Node flags for the load processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/load-prof` to profile the load itself. */
const loadFlags = process.env.WSGATE_BENCH_LOAD_FLAGS?.split(' ').filter(Boolean) ?? [];

/** Sockets per load process: well under the 20,000 open-file limit, and few enough for one event loop to keep up. */
const MAX_PER_WORKER = 4000;
/** At least two processes, so the load is spread over both cores like the servers can use. */
const MIN_WORKERS = 2;

export interface FleetConnect {
  opened: number;
  failed: number;
  /** Wall time until the slowest worker had opened all its clients. */
  elapsedMs: number;
  firstError?: string;
}

/** The workers' reports summed; the event-loop delay is the worst load process's. */
export type FleetReport = Omit<WorkerReport, 'ev'>;

/** Subscribers (or idle connections) spread over several child processes, driven together. */
export class SubscriberFleet {
  private constructor(private readonly workers: ChildProcess[]) {}

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid ?? 0);
  }

  /** `indexOffset` shifts the clients' indexes (and so wsgate's user names) past another fleet's. */
  static async connect(spec: ConnectSpec, total: number, sampleEvery: number, concurrency: number, indexOffset = 0) {
    const count = Math.max(MIN_WORKERS, Math.ceil(total / MAX_PER_WORKER));
    const workers = Array.from({ length: count }, () => forkTs(workerModule, [], loadFlags));
    const fleet = new SubscriberFleet(workers);
    const results = await Promise.all(
      workers.map((worker, i) => {
        const share = Math.floor(total / count) + (i < total % count ? 1 : 0);
        const firstIndex = indexOffset + i * Math.ceil(total / count) + 1; // index 0 is the publisher's
        const done = nextMessage(worker, (m) => ((m as ConnectResult).ev === 'connected' ? (m as ConnectResult) : undefined), 180_000, 'subscribers to connect');
        fleet.command(worker, { cmd: 'connect', spec, count: share, firstIndex, sampleEvery, concurrency });
        return done;
      }),
    );
    const connect: FleetConnect = {
      opened: results.reduce((sum, r) => sum + r.opened, 0),
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      firstError: results.find((r) => r.firstError)?.firstError,
    };
    return { fleet, connect };
  }

  private command(worker: ChildProcess, command: WorkerCommand): void {
    worker.send(command);
  }

  async reset(): Promise<void> {
    await Promise.all(
      this.workers.map((worker) => {
        const done = nextMessage(worker, (m) => ((m as { ev?: string }).ev === 'reset' ? true : undefined), 10_000, 'reset');
        this.command(worker, { cmd: 'reset' });
        return done;
      }),
    );
  }

  async report(): Promise<FleetReport> {
    const reports = await Promise.all(
      this.workers.map((worker) => {
        const done = nextMessage(worker, (m) => ((m as WorkerReport).ev === 'report' ? (m as WorkerReport) : undefined), 30_000, 'report');
        this.command(worker, { cmd: 'report' });
        return done;
      }),
    );
    return {
      received: reports.reduce((sum, r) => sum + r.received, 0),
      lastReceiveUs: Math.max(...reports.map((r) => r.lastReceiveUs)),
      latenciesUs: reports.flatMap((r) => r.latenciesUs),
      closed: reports.reduce((sum, r) => sum + r.closed, 0),
      loopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
      loopDelayMaxMs: Math.max(...reports.map((r) => r.loopDelayMaxMs)),
    };
  }

  async close(): Promise<void> {
    for (const worker of this.workers) if (worker.connected) this.command(worker, { cmd: 'close' });
    // Let each close its sockets and exit on its own; signal only the ones that hang.
    await Promise.all(this.workers.map((worker) => exited(worker, 3000).then(() => stopChild(worker))));
  }
}
