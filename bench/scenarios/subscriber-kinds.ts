/**
 * One node's server CPU per delivery for several kinds of subscriber in one run (WebSocket against SSE, native against
 * Pusher protocol): each kind holds its own channel; rounds alternate the kinds' order, each publishing to one kind's
 * channel at the same fixed rate through the server API until every subscriber of that kind got every publication.
 * Round 0 warms the node up and is not counted. The server-API call of each publication is in every kind alike.
 */
import { readCpuMs } from '../metrics.js';
import { API_KEY } from '../targets/wsgate.js';
import type { ServerProcess } from '../targets/server-process.js';

export interface KindsPlan {
  subscribers: number;
  publicationsPerSec: number;
  durationMs: number;
  rounds: number;
}

/** Counts the publications one subscriber received by a marker each carries once, without parsing. */
export class DeliveryCount {
  count = 0;
  private tail = '';
  constructor(private readonly marker: string) {}
  feed(text: string): void {
    const joined = this.tail + text;
    this.count += joined.split(this.marker).length - 1;
    this.tail = joined.slice(-this.marker.length);
  }
}

export interface Subscriber {
  counter: DeliveryCount;
  close(): void;
}

export interface SubscriberKind<K extends string> {
  kind: K;
  /** The wsgate channel its subscribers hold. */
  channel: string;
  subscribe(url: string): Promise<Subscriber>;
}

export interface KindRow<K extends string> {
  kind: K;
  deliveries: number;
  serverCpuUsPerDelivery: number;
  /** This kind ÷ the first kind. */
  ratio: number;
}

type Log = (line: string) => void;

async function publishAtRate(url: string, channel: string, perSec: number, durationMs: number, data: (n: number) => unknown): Promise<number> {
  const total = Math.max(1, Math.round((perSec * durationMs) / 1000));
  const started = Date.now();
  const sent: Array<Promise<unknown>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSec;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent.push(fetch(`${url}/api/publish`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: data(i) }),
    }).then((response) => response.arrayBuffer()));
  }
  await Promise.all(sent);
  return total;
}

/** Runs the rounds on `server` (stopped at the end) and returns one row per kind, the first kind the reference. */
export async function compareSubscriberKinds<K extends string>(
  server: ServerProcess, kinds: ReadonlyArray<SubscriberKind<K>>, plan: KindsPlan, data: (n: number) => unknown, label: string, log: Log,
): Promise<Array<KindRow<K>>> {
  const url = `http://127.0.0.1:${server.port}`;
  const groups = kinds.map(() => [] as Subscriber[]);
  const cpuMs = kinds.map(() => 0);
  const deliveries = kinds.map(() => 0);
  try {
    for (let i = 0; i < plan.subscribers; i++) {
      for (const [index, kind] of kinds.entries()) groups[index]!.push(await kind.subscribe(url));
    }
    for (let round = 0; round <= plan.rounds; round++) {
      const order = kinds.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) {
        const group = groups[index]!;
        const before = group.map((subscriber) => subscriber.counter.count);
        const cpu0 = readCpuMs(server.pid);
        const published = await publishAtRate(url, kinds[index]!.channel, plan.publicationsPerSec, plan.durationMs, data);
        const expected = published * group.length;
        const received = () => group.reduce((sum, subscriber, at) => sum + subscriber.counter.count - before[at]!, 0);
        const deadline = Date.now() + 10_000;
        while (received() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        const cpu = readCpuMs(server.pid) - cpu0;
        if (round === 0) continue;
        cpuMs[index]! += cpu;
        deliveries[index]! += received();
        if (received() < expected) log(`${label}: ${kinds[index]!.kind} round ${round}: ${expected - received()} deliveries missing`);
      }
      if (round > 0) log(`${label}: round ${round} of ${plan.rounds} done`);
    }
  } finally {
    for (const subscriber of groups.flat()) subscriber.close();
    await server.stop();
  }
  const perDelivery = (index: number) => (cpuMs[index]! * 1000) / deliveries[index]!;
  return kinds.map(({ kind }, index) => ({
    kind, deliveries: deliveries[index]!, serverCpuUsPerDelivery: perDelivery(index), ratio: perDelivery(index) / perDelivery(0),
  }));
}
