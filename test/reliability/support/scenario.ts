import { startCluster, type EngineSetup } from '../../cluster/support/cluster.js';
import { startHaproxy, type Balancer } from '../../cluster/support/haproxy.js';
import type { NodeProcess } from '../../cluster/support/node.js';
import { waitFor, within } from '../../support/wait.js';
import { Ledger, type LedgerReport } from './ledger.js';
import { apiPublisher, publishBatch, rawPublisher, sdkPublisher, type Publisher } from './publishers.js';
import { startRawSubscriber, startSdkSubscriber, type LedgerSubscriber, type Payload } from './subscribers.js';

/** Channels of the run: history kept, none kept, and a window small enough to fall out of. */
export const CHANNELS = { a: 'ledger:a', b: 'ledger:b', bare: 'bare:a', tiny: 'tiny:a' } as const;
const ALL = Object.values(CHANNELS);
/** Only the paused subscriber reads this one: the flood that fills its send queue burdens nobody else. */
const SLEEPER_CHANNEL = 'tiny:sleeper';
const TINY_HISTORY = 8;

const NAMESPACES = {
  ledger: { publish: true, history: { size: 5_000, ttlSeconds: 600 } },
  bare: { publish: true },
  tiny: { publish: true, history: { size: TINY_HISTORY, ttlSeconds: 600 } },
};

/** Load and bounds of one run; modest so four engines fit in about two minutes on two cores. */
export const LOAD = {
  /** Publications per publisher per phase (9 publishers: 3 API, 3 raw, 3 SDK). */
  perPhase: 12,
  /** Requests each publisher keeps in flight. */
  concurrency: 3,
  /** Accepted publications into a phase before its fault strikes. */
  faultAfter: 30,
  /** Padding of the flood that pushes the paused subscriber out of the tiny window and its send queue. */
  floodPad: 16_384,
  floodCap: 1_500,
  /**
   * The final drain waits until nothing is owed any more, or nothing arrived for `quietMs` (keep it above the nodes'
   * gap bound, so a fill from history is not cut short), at most `drainMs`.
   */
  quietMs: 3_000,
  drainMs: 15_000,
  /** Bound on every wait for nodes, subscribers and the store; generous, the machine is shared. */
  settleMs: 30_000,
};

export interface ScenarioResult {
  report: LedgerReport;
  ledger: Ledger;
  /** What happened along the way: epochs per channel, eviction, reconnects. */
  notes: string[];
}

/**
 * One ledger run on `setup`: 3 nodes behind HAProxy, publishers on every node (server API, raw `publish`, SDK
 * `publish`), subscribers on every node (raw and SDK), and in turn a SIGKILLed node, a restarted Redis and a paused
 * subscriber pushed out of the history window. Returns the ledger's verdict; the caller asserts on it.
 */
export async function runLedgerScenario(setup: EngineSetup, log: (line: string) => void): Promise<ScenarioResult> {
  const notes: string[] = [];
  const ledger = new Ledger();
  const world = await setup.start();
  const closers: Array<() => void | Promise<unknown>> = [() => world.stop()];
  try {
    const cluster = await startCluster(world, 'ledger', {
      nodes: 3,
      leaseMs: 2_000,
      readyTimeoutMs: LOAD.settleMs,
      config: {
        namespaces: NAMESPACES,
        ws: { pingIntervalMs: 5_000, pingTimeoutMs: 5_000 },
        limits: { rate: { publish: { rate: 100_000, burst: 100_000 }, subscribe: { rate: 10_000, burst: 10_000 } } },
      },
    });
    closers.unshift(() => cluster.stop());
    const nodes = cluster.nodes;
    const [n1, n2, n3] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const balancer = await startHaproxy(nodes);
    closers.unshift(() => balancer.stop());
    const dead = new Set<NodeProcess>();
    const alive = (node: NodeProcess) => !dead.has(node);

    // Subscribers and client publishers, pinned to each node in turn; later reconnects go wherever HAProxy sends them.
    const subscribers: LedgerSubscriber[] = [];
    const publishers: Publisher[] = nodes.map((node, i) => apiPublisher(`api-${i + 1}`, nodes, i, alive));
    let sleeper!: LedgerSubscriber;
    for (const [i, node] of nodes.entries()) {
      const n = i + 1;
      await pinned(balancer, nodes, node, async () => {
        const here = [
          startRawSubscriber(ledger, `raw-all-${n}`, balancer.httpUrl, ALL),
          startRawSubscriber(ledger, `raw-two-${n}`, balancer.httpUrl, [CHANNELS.a, CHANNELS.bare]),
          startSdkSubscriber(ledger, `sdk-all-${n}`, balancer.httpUrl, ALL),
        ];
        const raw = rawPublisher(`rawpub-${n}`, balancer.httpUrl);
        const sdk = sdkPublisher(`sdkpub-${n}`, balancer.httpUrl);
        publishers.push(raw, sdk);
        subscribers.push(...here);
        await within(Promise.all([...here.map((subscriber) => subscriber.ready()), raw.connected(), sdk.connected()]), LOAD.settleMs, `subscribers and publishers on ${node.nodeId}`);
        for (const subscriber of here) if (subscriber.node() !== node.nodeId) throw new Error(`${subscriber.label} landed on ${subscriber.node()}, not ${node.nodeId}`);
      });
    }
    // The subscriber that will stop reading: straight on n1 (no balancer buffers in between), history and tiny channels.
    sleeper = startSdkSubscriber(ledger, 'sdk-sleeper-1', balancer.httpUrl, [CHANNELS.a, CHANNELS.tiny, SLEEPER_CHANNEL], n1.wsUrl);
    subscribers.push(sleeper);
    await within(sleeper.ready(), LOAD.settleMs, 'the sleeper subscribed');
    closers.unshift(() => [...subscribers, ...publishers].forEach((party) => party.close()));
    const allReady = (what: string) => everyoneReady(subscribers, what);
    const batch = (extra: Partial<Parameters<typeof publishBatch>[2]> = {}) =>
      publishBatch(ledger, publishers, {
        perPublisher: LOAD.perPhase,
        concurrency: LOAD.concurrency,
        channels: ALL,
        ...extra,
      });
    /** Resolves once `count` more publications were accepted, or the traffic ended first. */
    const afterAccepted = (count: number, traffic: Promise<void>) => {
      const target = ledger.acceptedCount() + count;
      return Promise.race([ledger.until(() => ledger.acceptedCount() >= target), traffic]);
    };

    log(`[${setup.name}] phase 1: traffic on 3 nodes`);
    await batch();

    log(`[${setup.name}] phase 2: SIGKILL ${n3.nodeId} under traffic`);
    {
      const victims = subscribers.filter((subscriber) => subscriber.node() === n3.nodeId);
      const traffic = batch();
      await afterAccepted(LOAD.faultAfter, traffic);
      dead.add(n3);
      await n3.kill('SIGKILL');
      await traffic;
      await allReady('every subscriber back after the kill');
      notes.push(`kill: ${victims.map((victim) => `${victim.label}→${victim.node()}`).join(', ')}`);
    }

    log(`[${setup.name}] phase 3: restart Redis under traffic`);
    {
      const traffic = batch();
      await afterAccepted(LOAD.faultAfter, traffic);
      await world.restartRedis!();
      await waitFor(async () => {
        const states = await Promise.all(nodes.filter(alive).map((node) => node.readiness().catch(() => undefined)));
        return states.every((state) => state?.status === 200 && state.body.engine === 'up');
      }, LOAD.settleMs, 'every live node ready with its engine up after the Redis restart');
      await traffic;
      await allReady('every subscriber subscribed after the Redis restart');
    }

    log(`[${setup.name}] phase 4: pause ${sleeper.label} out of the tiny window`);
    {
      // The node counts every slow-consumer eviction; only the sleeper gets the flood, so the next one is the sleeper.
      const before = await slowConsumers(n1);
      sleeper.pause();
      let flooded = 0;
      const api = publishers.filter((publisher) => publisher.label.startsWith('api-'));
      // Missed while paused: publications in the sleeper's channels, more than the tiny window holds.
      await publishBatch(ledger, api, { perPublisher: TINY_HISTORY, concurrency: LOAD.concurrency, channels: [CHANNELS.a, CHANNELS.tiny] });
      while (!((await slowConsumers(n1)) > before)) {
        if (flooded >= LOAD.floodCap) throw new Error(`${sleeper.label} was not evicted after ${flooded} publications of ${LOAD.floodPad} bytes while paused`);
        await publishBatch(ledger, api, { perPublisher: 10, concurrency: LOAD.concurrency, channels: [SLEEPER_CHANNEL], pad: LOAD.floodPad });
        flooded += 10 * api.length;
      }
      notes.push(`pause: ${sleeper.label} evicted after ${flooded} publications of ${LOAD.floodPad} bytes to ${SLEEPER_CHANNEL}`);
      sleeper.resume();
      await batch();
      await allReady('every subscriber subscribed after the pause');
    }

    log(`[${setup.name}] drain`);
    const survivor = nodes.find(alive)!;
    await publishBatch(ledger, publishers.filter((publisher) => publisher.label.startsWith('api-')), { perPublisher: 1, concurrency: 1, channels: ALL });
    await allReady('every subscriber subscribed at the end');
    // Publications whose answer was lost may still be in history: they are owed like the others.
    for (const channel of [CHANNELS.a, CHANNELS.b, CHANNELS.tiny, SLEEPER_CHANNEL]) {
      const { body } = await survivor.api('GET', `/api/channels/${encodeURIComponent(channel)}/history`);
      const page = body as { epoch?: string; publications?: Array<{ offset: number; data: Payload }> };
      for (const publication of page.publications ?? []) {
        if (publication.data?.id) ledger.observe(publication.data.id, channel, { offset: publication.offset, epoch: page.epoch! });
      }
    }
    // Owed publications still on their way get a bounded time to arrive (re-sequencing, gap fill from history).
    await waitFor(() => Date.now() - ledger.lastChangeAt > LOAD.quietMs || ledger.check().counts.silentGaps === 0, LOAD.drainMs, 'quiet').catch(() => {});

    const report = ledger.check();
    notes.push(`epochs: ${describeEpochs(ledger)}`);
    const evicted = await Promise.all(nodes.filter(alive).map(slowConsumers));
    notes.push(`slow-consumer evictions on live nodes: ${evicted.join(', ')} (1 expected: the sleeper)`);
    return { report, ledger, notes };
  } finally {
    for (const close of closers) await Promise.resolve(close()).catch(() => {});
  }
}

/** Resolves once every subscriber is subscribed to all its channels; the timeout names those that are not. */
async function everyoneReady(subscribers: readonly LedgerSubscriber[], what: string, ms = LOAD.settleMs): Promise<void> {
  const waiting = new Set(subscribers);
  const all = Promise.all(subscribers.map((subscriber) => subscriber.ready().then(() => waiting.delete(subscriber))));
  await within(all, ms, what).catch((error: Error) => {
    throw new Error(`${error.message}; not subscribed: ${[...waiting].map((subscriber) => `${subscriber.label} (node ${subscriber.node() ?? 'none'})`).join(', ')}`);
  });
}

/** `wsgate_slow_consumers_total` of a node. */
async function slowConsumers(node: NodeProcess): Promise<number> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  return Number(/^wsgate_slow_consumers_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** Sets every other live node to drain in HAProxy while `body` connects, so new connections land on `target`. */
async function pinned<T>(balancer: Balancer, nodes: readonly NodeProcess[], target: NodeProcess, body: () => Promise<T>): Promise<T> {
  const others = nodes.filter((node) => node !== target);
  for (const other of others) await balancer.admin(`set server wsgate_nodes/${balancer.serverOf(other)} state drain`);
  try {
    return await body();
  } finally {
    for (const other of others) await balancer.admin(`set server wsgate_nodes/${balancer.serverOf(other)} state ready`);
  }
}

/** Accepted publications per channel and epoch, e.g. `ledger:a {e1: 120, e2: 40}`. */
function describeEpochs(ledger: Ledger): string {
  const byChannel = new Map<string, Map<string, number>>();
  for (const attempt of ledger.attempts.values()) {
    if (!attempt.accepted) continue;
    const epochs = byChannel.get(attempt.channel) ?? new Map<string, number>();
    epochs.set(attempt.accepted.epoch, (epochs.get(attempt.accepted.epoch) ?? 0) + 1);
    byChannel.set(attempt.channel, epochs);
  }
  return [...byChannel].map(([channel, epochs]) => `${channel} {${[...epochs].map(([epoch, count]) => `${epoch}: ${count}`).join(', ')}}`).join(' ');
}
