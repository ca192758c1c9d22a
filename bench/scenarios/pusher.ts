/**
 * What a Pusher-protocol subscriber costs the node against a native WebSocket subscriber, in one run: one wsgate node
 * holds `subscribers` connections of each kind (pusher-js's wire protocol 7 on `/app/{key}`, and wsgate.v1.json on
 * `/ws`), each kind on its own public channel, and both channels get the same publications (a Pusher event, as the
 * Pusher HTTP API publishes it) at the same rate. Reported: server CPU per delivery for each, and their ratio.
 */
import WebSocket from 'ws';
import { toWsgateChannel } from '../../src/server/pusher/channel-names.js';
import { startWsgateNode } from '../targets/wsgate.js';
import { NATIVE_MESSAGE, wsSubscriber, type StreamingPlan } from './streaming.js';
import { compareSubscriberKinds, DeliveryCount, type KindRow, type Subscriber } from './subscriber-kinds.js';

export type PusherRow = KindRow<'native' | 'pusher'>;

const APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-0123456789' };
const PUSHER_CHANNEL = 'bench-over-pusher';
const NATIVE_CHANNEL = 'bench:over-native';
const EVENT = 'bench-tick';

/** A raw protocol-7 connection (what pusher-js sends and reads) subscribed to a public channel. */
async function pusherSubscriber(url: string, channel: string): Promise<Subscriber> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/app/${APP.key}?protocol=7&client=bench&version=8.4.0`);
  const counter = new DeliveryCount(`"event":"${EVENT}"`);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = String(data);
      if (text.includes('"pusher:connection_established"')) ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
      else if (text.includes('"pusher_internal:subscription_succeeded"')) resolve();
      else if (text.includes('"pusher:error"')) reject(new Error(`pusher subscribe refused: ${text}`));
      else counter.feed(text);
    });
  });
  return { counter, close: () => ws.close() };
}

export async function runPusher(plan: StreamingPlan, pingIntervalMs: number, log: (line: string) => void): Promise<PusherRow[]> {
  const server = await startWsgateNode('wsgate-pusher', { pingIntervalMs }, { pusher: { apps: [APP] } }, {});
  return compareSubscriberKinds(server, [
    { kind: 'native' as const, channel: NATIVE_CHANNEL, subscribe: (url: string) => wsSubscriber(url, NATIVE_CHANNEL) },
    { kind: 'pusher' as const, channel: toWsgateChannel(APP.id, PUSHER_CHANNEL)!, subscribe: (url: string) => pusherSubscriber(url, PUSHER_CHANNEL) },
  ], plan, (n) => ({ event: EVENT, data: JSON.stringify({ n, pad: 'x'.repeat(64) }) }), 'pusher', log);
}
