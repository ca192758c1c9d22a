/**
 * Publications: what one channel publication costs the servers at saturation, cross-node on one Redis, and whether
 * a subscriber sees the channel in offset order. On two nodes a client publishes to one channel with `inFlight`
 * requests outstanding each (closed loop: as fast as the cluster answers); a third node holds one subscriber. Every target runs `rounds` times, interleaved (A B A B), so drift on a shared machine hits both alike.
 *
 * Per round: publications answered per second, server CPU (the three nodes) and redis-server CPU per publication,
 * and the subscriber's deliveries and inversions (a delivery whose offset is not above one it already had).
 */
import WebSocket from 'ws';
import { readCpuMsOf } from '../metrics.js';
import type { RunningTarget, StartOptions, Target } from '../targets/target.js';

export interface PublicationsPlan {
  /** Requests outstanding per publisher node. */
  inFlight: number;
  /** Measured window, after `warmupMs` of the same load. */
  durationMs: number;
  warmupMs: number;
  rounds: number;
}

export interface PublicationsRun {
  target: string;
  round: number;
  published: number;
  perSec: number;
  serverCpuUsPerPublication: number;
  redisCpuUsPerPublication: number;
  delivered: number;
  inversions: number;
  errors: number;
}

const CHANNEL = 'bench:ordered';

/** Namespace `bench` keeps history for this scenario, as a chat namespace would. */
export const PUBLICATIONS_CONFIG = { namespaces: { bench: { publish: true, history: { size: 100, ttlSeconds: 600 } } } };

interface Subscriber {
  delivered: number;
  inversions: number;
  close(): void;
}

function subscribe(url: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}/ws`, 'wsgate.v1.json');
    let highest = 0;
    const state: Subscriber = { delivered: 0, inversions: 0, close: () => socket.close() };
    socket.once('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; offset?: number; code?: string };
      if (frame.type === 'welcome') socket.send(JSON.stringify({ type: 'subscribe', id: 'sub', channel: CHANNEL }));
      else if (frame.type === 'subscribed') resolve(state);
      else if (frame.type === 'message') {
        state.delivered++;
        if (frame.offset! <= highest) state.inversions++;
        highest = Math.max(highest, frame.offset!);
      } else if (frame.type === 'error') reject(new Error(`subscribe failed: ${frame.code}`));
    });
  });
}

/**
 * One client connection to a node with `inFlight` `publish` requests outstanding (closed loop on the `published`
 * replies) until `stop()`; counts replies after `mark()`. A WebSocket client, not the HTTP API, so the request costs
 * the server little beside the publication itself.
 */
async function publishLoop(wsUrl: string, inFlight: number) {
  const socket = new WebSocket(`${wsUrl}/ws`, 'wsgate.v1.json');
  let running = true;
  let counted = false;
  let answered = 0;
  let errors = 0;
  let outstanding = 0;
  let seq = 0;
  let drained: (() => void) | undefined;
  const send = () => {
    outstanding++;
    const n = seq++;
    socket.send(`{"type":"publish","id":${n},"channel":"${CHANNEL}","data":{"n":${n},"text":"${'x'.repeat(48)}"}}`);
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string };
      if (frame.type === 'welcome') return resolve();
      if (frame.type !== 'published' && frame.type !== 'error') return;
      outstanding--;
      if (frame.type === 'error') errors++;
      else if (counted) answered++;
      if (running) send();
      else if (outstanding === 0) drained?.();
    });
  });
  for (let i = 0; i < inFlight; i++) send();
  return {
    mark: () => (counted = true),
    stop: async () => {
      running = false;
      if (outstanding > 0) await new Promise<void>((resolve) => (drained = resolve));
      socket.close();
      return { answered, errors };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(target: Target, running: RunningTarget, plan: PublicationsPlan, round: number): Promise<PublicationsRun> {
  const subscriber = await subscribe(running.urls[0]!);
  const loops = await Promise.all([running.urls[1]!, running.publisherUrl!].map((url) => publishLoop(url, plan.inFlight)));
  await sleep(plan.warmupMs);
  const cpuBefore = readCpuMsOf(running.serverPids);
  const redisBefore = readCpuMsOf(running.helperPids);
  const startedAt = performance.now();
  for (const loop of loops) loop.mark();
  await sleep(plan.durationMs);
  const cpu = readCpuMsOf(running.serverPids) - cpuBefore;
  const redis = readCpuMsOf(running.helperPids) - redisBefore;
  const elapsedMs = performance.now() - startedAt;
  const results = await Promise.all(loops.map((loop) => loop.stop()));
  // Publications still in flight at the end reach the subscriber shortly after their answers.
  await sleep(300);
  subscriber.close();
  const published = results.reduce((sum, r) => sum + r.answered, 0);
  return {
    target: target.name,
    round,
    published,
    perSec: (published * 1000) / elapsedMs,
    serverCpuUsPerPublication: (cpu * 1000) / published,
    redisCpuUsPerPublication: (redis * 1000) / published,
    delivered: subscriber.delivered,
    inversions: subscriber.inversions,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function runPublications(targets: Target[], plan: PublicationsPlan, options: StartOptions, log: (line: string) => void): Promise<PublicationsRun[]> {
  const runs: PublicationsRun[] = [];
  for (let round = 1; round <= plan.rounds; round++) {
    for (const target of targets) {
      log(`${target.name}: publications, round ${round}`);
      const running = await target.start(options);
      try {
        runs.push(await measure(target, running, plan, round));
      } finally {
        await running.stop();
      }
    }
  }
  return runs;
}

/** Mean of every round, per target, in the order the targets ran. */
export function summarizePublications(runs: PublicationsRun[]): Array<Omit<PublicationsRun, 'round'> & { rounds: number }> {
  const names = [...new Set(runs.map((run) => run.target))];
  return names.map((name) => {
    const mine = runs.filter((run) => run.target === name);
    const mean = (pick: (run: PublicationsRun) => number) => mine.reduce((sum, run) => sum + pick(run), 0) / mine.length;
    const sum = (pick: (run: PublicationsRun) => number) => mine.reduce((total, run) => total + pick(run), 0);
    return {
      target: name,
      rounds: mine.length,
      published: sum((run) => run.published),
      perSec: mean((run) => run.perSec),
      serverCpuUsPerPublication: mean((run) => run.serverCpuUsPerPublication),
      redisCpuUsPerPublication: mean((run) => run.redisCpuUsPerPublication),
      delivered: sum((run) => run.delivered),
      inversions: sum((run) => run.inversions),
      errors: sum((run) => run.errors),
    };
  });
}
