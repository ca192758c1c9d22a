/**
 * What an SSE subscriber costs the node against a WebSocket subscriber, in one run: one wsgate node holds `subscribers`
 * sessions of each kind, on two channels; rounds alternate between the two, each publishing to one channel at the same
 * fixed rate through the server API until every subscriber of that channel got every publication. Reported: server
 * CPU (user + system) per delivery for each transport, and their ratio. The server-API call of each publication is in
 * both alike; per delivery it is divided by `subscribers`.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { startWsgateNode } from '../targets/wsgate.js';
import { compareSubscriberKinds, DeliveryCount, type KindsPlan, type Subscriber } from './subscriber-kinds.js';

export type StreamingPlan = KindsPlan;

export interface StreamingRow {
  transport: 'websocket' | 'sse';
  deliveries: number;
  serverCpuUsPerDelivery: number;
  /** This transport ÷ WebSocket. */
  ratio: number;
}

type Log = (line: string) => void;

/** A native publication, as each subscriber counts it. */
export const NATIVE_MESSAGE = '"type":"message"';

/** A wsgate.v1.json WebSocket subscriber of `channel`. */
export async function wsSubscriber(url: string, channel: string): Promise<Subscriber> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, ['wsgate.v1.json']);
  const counter = new DeliveryCount(NATIVE_MESSAGE);
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

async function sseSubscriber(url: string, channel: string): Promise<Subscriber> {
  const counter = new DeliveryCount(NATIVE_MESSAGE);
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

export async function runStreaming(plan: StreamingPlan, pingIntervalMs: number, log: Log): Promise<StreamingRow[]> {
  const server = await startWsgateNode('wsgate-streaming', { pingIntervalMs }, { streaming: { heartbeatMs: 20_000 } }, {});
  const rows = await compareSubscriberKinds(server, [
    { kind: 'websocket' as const, channel: 'bench:over-ws', subscribe: (url: string) => wsSubscriber(url, 'bench:over-ws') },
    { kind: 'sse' as const, channel: 'bench:over-sse', subscribe: (url: string) => sseSubscriber(url, 'bench:over-sse') },
  ], plan, (n) => ({ n, pad: 'x'.repeat(64) }), 'streaming', log);
  return rows.map(({ kind, ...row }) => ({ transport: kind, ...row }));
}
