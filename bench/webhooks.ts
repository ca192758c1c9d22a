/**
 * What webhooks cost a node, in one run: two wsgate nodes (memory engine, built CLI) with the same config — one sending
 * every lifecycle event to a local receiver, one with no endpoint — take the same client publications (each one a
 * `channel.published` event on the first node). Reports, side by side:
 * - CPU per publication at a fixed offered rate on each node, and the difference: the CPU cost per webhook event;
 * - events/s the webhook node emits and delivers when publishers go as fast as the node answers.
 *
 *   npm run build && node --import tsx bench/webhooks.ts [--rate 2000] [--seconds 10] [--clients 20]
 *   WSGATE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/webhooks-prof" node --import tsx bench/webhooks.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { readCpuMs } from './metrics.js';
import { forkTs, logDir, nextMessage, repoRoot, spawnServer, stopChild } from './processes.js';
import { freePort } from './targets/server-process.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '20' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const clientCount = Number(values.clients);
/** Extra Node flags for both nodes, e.g. `WSGATE_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`. */
const extraNodeFlags = (process.env.WSGATE_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const SECRET = `whsec_${Buffer.from('wsgate-bench-webhook-secret-0000').toString('base64')}`;

interface Node {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

async function startNode(name: string, webhookUrl: string | null): Promise<Node> {
  const port = await freePort();
  const config = {
    port, host: '127.0.0.1', log: { level: 'warn' }, allowedOrigins: ['*'], auth: { anonymous: true },
    limits: { rate: { publish: { rate: 1_000_000, burst: 1_000_000 }, subscribe: { rate: 100, burst: 100 }, send: { rate: 100, burst: 100 }, action: { rate: 100, burst: 100 } } },
    namespaces: { bench: { publish: true, webhooks: { published: true } } },
    webhooks: webhookUrl ? { secrets: [SECRET], endpoints: [{ url: webhookUrl, name: 'sink', batchSize: 100, concurrency: 4 }] } : {},
  };
  const file = join(logDir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  const child = spawnServer(name, [...extraNodeFlags, join(repoRoot, 'dist', 'cli', 'main.js'), 'serve', '--config', file]);
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    if ((await fetch(`${url}/readyz`).then((response) => response.status, () => 0)) === 200) break;
    if (attempt > 200) throw new Error(`${name} did not get ready (log in ${logDir})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { name, pid: child.pid!, url, stop: () => stopChild(child) };
}

/** Anonymous publishers on one node; `publish` sends one publication and resolves on its `published` reply. */
async function connectPublishers(node: Node, count: number) {
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`${node.url.replace('http', 'ws')}/ws`, ['wsgate.v1.json']);
    ws.once('error', reject);
    ws.on('message', function first(data) {
      if (JSON.parse(String(data)).type !== 'welcome') return;
      ws.off('message', first);
      resolve(ws);
    });
  })));
  let id = 0;
  const waiting = new Map<number, () => void>();
  for (const ws of sockets) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id?: number };
      if (frame.id !== undefined) waiting.get(frame.id)?.();
      waiting.delete(frame.id!);
    });
  }
  return {
    publish(index: number): Promise<void> {
      const requestId = ++id;
      return new Promise((resolve) => {
        waiting.set(requestId, resolve);
        sockets[index % sockets.length]!.send(JSON.stringify({ type: 'publish', id: requestId, channel: `bench:c${index % 50}`, data: { n: requestId } }));
      });
    },
    close: () => sockets.forEach((ws) => ws.close()),
  };
}

/** Publications at `perSecond` for `durationMs` (10 ms ticks), awaiting every reply; returns how many. */
async function offer(publishers: Awaited<ReturnType<typeof connectPublishers>>, perSecond: number, durationMs: number): Promise<number> {
  const replies: Array<Promise<void>> = [];
  const start = Date.now();
  let sent = 0;
  while (Date.now() - start < durationMs) {
    const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
    for (; sent < due; sent++) replies.push(publishers.publish(sent));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await Promise.all(replies);
  return sent;
}

/** As fast as the node answers: `window` publications in flight per client for `durationMs`. */
async function saturate(publishers: Awaited<ReturnType<typeof connectPublishers>>, window: number, durationMs: number): Promise<number> {
  const end = Date.now() + durationMs;
  let sent = 0;
  await Promise.all(Array.from({ length: window }, async () => {
    while (Date.now() < end) await publishers.publish(sent++);
  }));
  return sent;
}

async function main(): Promise<void> {
  const sink = forkTs(join(repoRoot, 'bench', 'servers', 'webhook-sink.ts'));
  const sinkPort = await nextMessage(sink, (m) => ((m as { ev?: string }).ev === 'listening' ? (m as { port: number }).port : undefined), 20_000, 'the sink');
  const count = async () => {
    sink.send({ cmd: 'count' });
    return nextMessage(sink, (m) => ((m as { ev?: string }).ev === 'count' ? (m as { events: number; lastAt: number }) : undefined), 10_000, 'the count');
  };
  const withHooks = await startNode('wsgate-webhooks', `http://127.0.0.1:${sinkPort}/`);
  const without = await startNode('wsgate-no-webhooks', null);
  const results: Record<string, number> = {};
  try {
    for (const node of [without, withHooks]) {
      const publishers = await connectPublishers(node, clientCount);
      await offer(publishers, rate, 2_000); // warm-up: JIT, pools
      const cpu0 = readCpuMs(node.pid);
      const published = await offer(publishers, rate, seconds * 1000);
      results[`${node.name}.cpuMsPerPublication`] = (readCpuMs(node.pid) - cpu0) / published;
      results[`${node.name}.published`] = published;
      publishers.close();
    }
    // Saturation on the webhook node: events emitted per second, and how fast they all reach the receiver.
    const before = (await count()).events;
    const publishers = await connectPublishers(withHooks, clientCount);
    const start = Date.now();
    const published = await saturate(publishers, clientCount * 4, seconds * 1000);
    const publishMs = Date.now() - start;
    let delivered = await count();
    while (delivered.events - before < published) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      delivered = await count();
      if (Date.now() - start > publishMs + 60_000) break;
    }
    publishers.close();
    results['saturation.published'] = published;
    results['saturation.publishedPerSecond'] = published / (publishMs / 1000);
    results['saturation.deliveredPerSecond'] = (delivered.events - before) / ((delivered.lastAt - start) / 1000);
  } finally {
    await withHooks.stop();
    await without.stop();
    await stopChild(sink);
  }
  const base = results['wsgate-no-webhooks.cpuMsPerPublication']!;
  const hooked = results['wsgate-webhooks.cpuMsPerPublication']!;
  console.log(`offered ${rate} client publications/s for ${seconds} s to each node (memory engine, ${clientCount} publishers):`);
  console.log(`  without webhooks: ${(base * 1000).toFixed(1)} µs CPU per publication`);
  console.log(`  with webhooks:    ${(hooked * 1000).toFixed(1)} µs CPU per publication (${(hooked / base).toFixed(2)}x)`);
  console.log(`  webhook cost:     ${((hooked - base) * 1000).toFixed(1)} µs CPU per event (channel.published, batched, signed, posted)`);
  console.log(`saturation (webhook node): ${results['saturation.publishedPerSecond']!.toFixed(0)} publications (events) emitted/s, ` +
    `${results['saturation.deliveredPerSecond']!.toFixed(0)} events/s delivered to the receiver`);
  console.log(`(server logs in ${logDir})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
