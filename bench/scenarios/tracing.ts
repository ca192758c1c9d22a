/**
 * What tracing costs a node, in one run: two wsgate nodes of the same build and config, one with tracing off (no
 * `OTEL_*` variables: the API's no-op) and one exporting every span over OTLP/HTTP to a local receiver, take the same
 * traced operations, alternating rounds so machine drift hits both alike. Reported per operation: server CPU (user +
 * system) off and on, their ratio, and the spans the traced node exported per operation — 1 for each, and none for
 * the publications an API call fans out to subscribers. With a baseline build (`--baseline <rev>`, a commit before
 * tracing), a third node runs it too, and `off ÷ baseline` is what the no-op API costs.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { readCpuMs } from '../metrics.js';
import type { ServerProcess } from '../targets/server-process.js';
import { API_KEY, startWsgateNode } from '../targets/wsgate.js';

export interface TracingPlan {
  /** Handshakes per round (each a connect, its welcome, and a close), this many at a time. */
  handshakes: number;
  /** Actions per round routed to a local backend, spread over `clients` sessions in a closed loop. */
  actions: number;
  clients: number;
  /** Server-API publications per round, each delivered to `subscribers` sessions (deliveries carry no span). */
  publishes: number;
  subscribers: number;
  concurrency: number;
  rounds: number;
}

export interface TracingRow {
  operation: string;
  operations: number;
  offCpuUsPerOp: number;
  onCpuUsPerOp: number;
  /** on ÷ off */
  ratio: number;
  spansPerOp: number;
  /** With `--baseline`: the other build, which has no tracing code. */
  baselineCpuUsPerOp?: number;
  /** off ÷ baseline */
  noopRatio?: number;
}

type Log = (line: string) => void;

/** A local OTLP/HTTP receiver that counts the spans it is sent (by their ids in the JSON), and answers 200. */
async function startSpanSink(): Promise<{ server: Server; url: string; spans: () => number }> {
  let spans = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      spans += body.split('"spanId"').length - 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans: () => spans };
}

/** The backend of `bench.*` actions: answers every call at once. */
async function startActionBackend(): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    request.resume().on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"payload":{"ok":true}}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/actions` };
}

function openSession(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/ws`, ['wsgate.v1.json']);
    ws.once('error', reject);
    ws.on('message', function first(data) {
      if ((JSON.parse(String(data)) as { type: string }).type !== 'welcome') return;
      ws.off('message', first);
      resolve(ws);
    });
  });
}

/** Replies by request id over one socket. */
function requester(ws: WebSocket): (frame: Record<string, unknown>) => Promise<void> {
  let id = 0;
  const waiting = new Map<number, () => void>();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as { id?: number };
    if (frame.id === undefined) return;
    waiting.get(frame.id)?.();
    waiting.delete(frame.id);
  });
  return (frame) => new Promise((resolve) => {
    waiting.set(++id, resolve);
    ws.send(JSON.stringify({ ...frame, id }));
  });
}

/** `total` calls of `step`, `concurrency` at a time. */
async function inParallel(total: number, concurrency: number, step: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await step(next++);
  }));
}

interface NodeUnderTest {
  name: string;
  server: ServerProcess;
  url: string;
  cpuMs: Record<string, number>;
  ops: Record<string, number>;
  spans: Record<string, number>;
}

export async function runTracing(plan: TracingPlan, pingIntervalMs: number, log: Log, baselineCli?: string): Promise<TracingRow[]> {
  const [sink, backend] = await Promise.all([startSpanSink(), startActionBackend()]);
  const extra = { actions: { routes: [{ match: 'bench.*', url: backend.url }] } };
  const traced = {
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    // Room for every span of a round, so none is dropped (a dropped span would be work not charged).
    OTEL_BSP_MAX_QUEUE_SIZE: '100000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1000', OTEL_BSP_SCHEDULE_DELAY: '200',
  };
  const nodes: NodeUnderTest[] = [];
  try {
    const contenders: Array<[string, Record<string, string>, string | undefined]> = [['tracing-off', {}, undefined], ['tracing-on', traced, undefined]];
    if (baselineCli) contenders.push(['baseline', {}, baselineCli]);
    for (const [name, env, cliPath] of contenders) {
      const server = await startWsgateNode(`wsgate-${name}`, { pingIntervalMs }, extra, env, cliPath);
      nodes.push({ name, server, url: `http://127.0.0.1:${server.port}`, cpuMs: {}, ops: {}, spans: {} });
    }
    const sessions = new Map<NodeUnderTest, { act: Array<(frame: Record<string, unknown>) => Promise<void>>; all: WebSocket[] }>();
    for (const node of nodes) {
      const all = await Promise.all(Array.from({ length: plan.clients + plan.subscribers }, () => openSession(node.url.replace('http', 'ws'))));
      const listeners = all.slice(plan.clients);
      await Promise.all(listeners.map((ws) => requester(ws)({ type: 'subscribe', channel: 'bench:traced' })));
      sessions.set(node, { act: all.slice(0, plan.clients).map(requester), all });
    }
    const phases: Array<[string, number, (node: NodeUnderTest) => Promise<void>]> = [
      ['handshake', plan.handshakes, (node) => inParallel(plan.handshakes, plan.concurrency, async () => {
        const ws = await openSession(node.url.replace('http', 'ws'));
        await new Promise((resolve) => ws.once('close', resolve).close());
      })],
      ['action (routed to a backend)', plan.actions, async (node) => {
        const { act } = sessions.get(node)!;
        await inParallel(plan.actions, act.length, (index) => act[index % act.length]!({ type: 'bench.echo', payload: { n: index } }));
      }],
      [`server-API publish (${plan.subscribers} deliveries each)`, plan.publishes, (node) => inParallel(plan.publishes, plan.concurrency, async (index) => {
        const response = await fetch(`${node.url}/api/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ channel: 'bench:traced', data: { n: index } }),
        });
        await response.arrayBuffer();
      })],
    ];
    // Round 0 warms both nodes up (JIT, pools) and is not counted.
    for (let round = 0; round <= plan.rounds; round++) {
      for (const [operation, count, run] of phases) {
        for (const node of round % 2 === 0 ? nodes : [...nodes].reverse()) {
          const spans0 = sink.spans();
          const cpu0 = readCpuMs(node.server.pid);
          const started = Date.now();
          await run(node);
          if (process.env.WSGATE_BENCH_VERBOSE) log(`tracing: ${node.name} ${operation}: ${Date.now() - started} ms`);
          // The export of this phase's spans is part of its cost: read the CPU once they reached the sink.
          if (node.name === 'tracing-on') await waitForSpans(sink.spans, spans0 + count, 5_000);
          const cpu = readCpuMs(node.server.pid) - cpu0;
          if (round === 0) continue;
          node.cpuMs[operation] = (node.cpuMs[operation] ?? 0) + cpu;
          node.ops[operation] = (node.ops[operation] ?? 0) + count;
          node.spans[operation] = (node.spans[operation] ?? 0) + sink.spans() - spans0;
        }
      }
      if (round > 0) log(`tracing: round ${round} of ${plan.rounds} done`);
    }
    for (const { all } of sessions.values()) for (const ws of all) ws.close();
    const [off, on, baseline] = nodes as [NodeUnderTest, NodeUnderTest, NodeUnderTest | undefined];
    const perOp = (node: NodeUnderTest, operation: string) => (node.cpuMs[operation]! * 1000) / node.ops[operation]!;
    return phases.map(([operation]) => {
      const offUs = perOp(off, operation);
      const onUs = perOp(on, operation);
      const row: TracingRow = { operation, operations: on.ops[operation]!, offCpuUsPerOp: offUs, onCpuUsPerOp: onUs, ratio: onUs / offUs, spansPerOp: on.spans[operation]! / on.ops[operation]! };
      if (baseline) {
        row.baselineCpuUsPerOp = perOp(baseline, operation);
        row.noopRatio = offUs / row.baselineCpuUsPerOp;
      }
      return row;
    });
  } finally {
    await Promise.all(nodes.map((node) => node.server.stop()));
    for (const server of [sink.server, backend.server]) {
      server.closeAllConnections();
      server.close();
    }
  }
}

async function waitForSpans(spans: () => number, atLeast: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (spans() < atLeast && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
