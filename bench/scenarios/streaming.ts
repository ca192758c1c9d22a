/**
 * What an SSE subscriber costs the node against a WebSocket subscriber, in one run: one wsgate node holds `subscribers`
 * sessions of each kind, on two channels; rounds alternate between the two, each publishing to one channel at the same
 * fixed rate through the server API until every subscriber of that channel got every publication. Reported: server
 * CPU (user + system) per delivery for each transport, and their ratio. The server-API call of each publication is in
 * both alike; per delivery it is divided by `subscribers`.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { readCpuMs } from '../metrics.js';
import { API_KEY, startWsgateNode } from '../targets/wsgate.js';

export interface StreamingPlan {
  subscribers: number;
  publicationsPerSec: number;
  durationMs: number;
  rounds: number;
}

export interface StreamingRow {
  transport: 'websocket' | 'sse';
  deliveries: number;
  serverCpuUsPerDelivery: number;
  /** This transport ÷ WebSocket. */
  ratio: number;
}

type Log = (line: string) => void;

/** Counts the publications one subscriber received (by frame type, without parsing), whatever carries them. */
class DeliveryCount {
  count = 0;
  private tail = '';
  feed(text: string): void {
    const joined = this.tail + text;
    this.count += joined.split('"type":"message"').length - 1;
    this.tail = joined.slice(-20);
  }
}

async function wsSubscriber(url: string, channel: string): Promise<{ counter: DeliveryCount; close(): void }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, ['wsgate.v1.json']);
  const counter = new DeliveryCount();
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = String(data);
      if (text.startsWith('{"type":"welcome"')) ws.send(JSON.stringify({ type: 'subscribe', channel, id: 1 }));
      else if (text.startsWith('{"type":"subscribed"')) resolve();
      else counter.feed(text);
    });
  });
  return { counter, close: () => ws.close() };
}

async function sseSubscriber(url: string, channel: string): Promise<{ counter: DeliveryCount; close(): void }> {
  const counter = new DeliveryCount();
  let req!: ClientRequest;
  await new Promise<void>((resolve, reject) => {
    req = httpRequest(`${url}/sse`, { headers: { accept: 'text/event-stream' } }, (response) => {
      response.setEncoding('utf8');
      let subscribed = false;
      response.on('data', (chunk: string) => {
        if (!subscribed) {
          const welcome = /data: (\{"type":"welcome".*)\n/.exec(chunk);
          if (welcome) {
            const { session, secret } = JSON.parse(welcome[1]!) as { session: string; secret: string };
            void fetch(`${url}/emulation`, {
              method: 'POST', headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ session, secret, frame: { type: 'subscribe', channel, id: 1 } }),
            }).then((answer) => answer.arrayBuffer());
          }
          if (chunk.includes('"type":"subscribed"')) {
            subscribed = true;
            resolve();
          }
          return;
        }
        counter.feed(chunk);
      });
    });
    req.on('error', reject);
    req.end();
  });
  return { counter, close: () => req.destroy() };
}

async function publishAtRate(url: string, channel: string, perSec: number, durationMs: number): Promise<number> {
  const total = Math.max(1, Math.round((perSec * durationMs) / 1000));
  const started = Date.now();
  const sent: Array<Promise<unknown>> = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSec;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    sent.push(fetch(`${url}/api/publish`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: { n: i, pad: 'x'.repeat(64) } }),
    }).then((response) => response.arrayBuffer()));
  }
  await Promise.all(sent);
  return total;
}

export async function runStreaming(plan: StreamingPlan, pingIntervalMs: number, log: Log): Promise<StreamingRow[]> {
  const server = await startWsgateNode('wsgate-streaming', { pingIntervalMs }, { streaming: { heartbeatMs: 20_000 } }, {});
  const url = `http://127.0.0.1:${server.port}`;
  const groups = { websocket: [] as Array<{ counter: DeliveryCount; close(): void }>, sse: [] as Array<{ counter: DeliveryCount; close(): void }> };
  const cpuMs = { websocket: 0, sse: 0 };
  const deliveries = { websocket: 0, sse: 0 };
  try {
    for (let i = 0; i < plan.subscribers; i++) {
      groups.websocket.push(await wsSubscriber(url, 'bench:over-ws'));
      groups.sse.push(await sseSubscriber(url, 'bench:over-sse'));
    }
    // Round 0 warms the node up and is not counted.
    for (let round = 0; round <= plan.rounds; round++) {
      const order: Array<'websocket' | 'sse'> = round % 2 === 0 ? ['websocket', 'sse'] : ['sse', 'websocket'];
      for (const transport of order) {
        const group = groups[transport];
        const before = group.map((subscriber) => subscriber.counter.count);
        const cpu0 = readCpuMs(server.pid);
        const published = await publishAtRate(url, transport === 'sse' ? 'bench:over-sse' : 'bench:over-ws', plan.publicationsPerSec, plan.durationMs);
        const expected = published * group.length;
        const received = () => group.reduce((sum, subscriber, index) => sum + subscriber.counter.count - before[index]!, 0);
        const deadline = Date.now() + 10_000;
        while (received() < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        const cpu = readCpuMs(server.pid) - cpu0;
        if (round === 0) continue;
        cpuMs[transport] += cpu;
        deliveries[transport] += received();
        if (received() < expected) log(`streaming: ${transport} round ${round}: ${expected - received()} deliveries missing`);
      }
      if (round > 0) log(`streaming: round ${round} of ${plan.rounds} done`);
    }
  } finally {
    for (const subscriber of [...groups.websocket, ...groups.sse]) subscriber.close();
    await server.stop();
  }
  const perDelivery = (transport: 'websocket' | 'sse') => (cpuMs[transport] * 1000) / deliveries[transport];
  return (['websocket', 'sse'] as const).map((transport) => ({
    transport, deliveries: deliveries[transport], serverCpuUsPerDelivery: perDelivery(transport), ratio: perDelivery(transport) / perDelivery('websocket'),
  }));
}
