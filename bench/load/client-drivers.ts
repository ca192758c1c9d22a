import WebSocket from 'ws';
import { io, type Socket } from 'socket.io-client';
import { Decoder, Encoder } from 'socket.io-parser';
import type { ClientKind, ConnectSpec } from './messages.js';

/**
 * One load client per target protocol. After `open` resolves the client is connected (and subscribed when asked);
 * from then on every delivery calls `onDelivery` with the raw frame, without parsing it: the load generator must stay
 * cheaper than the servers it measures, so only sampled clients look inside (see subscriber-worker.ts).
 */
export interface LoadClient {
  send(payload: string): void;
  close(): void;
}

export interface ClientEvents {
  onDelivery(frame: Buffer | string): void;
  /** Frames that are not deliveries (wsgate replies) with their parsed `type`; the publisher counts errors. */
  onReply?(type: string): void;
  onClose(): void;
}

/** `ws` client options shared by every kind: no compression (servers have it off too), and no UTF-8 validation cost. */
const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000 } as const;

/** wsgate's protocol v1 subprotocol name (docs/protocol.md). */
const WSGATE_SUBPROTOCOL = 'wsgate.v1.json';

export function openClient(spec: ConnectSpec, index: number, events: ClientEvents): Promise<LoadClient> {
  const url = spec.urls[index % spec.urls.length];
  const open: Record<ClientKind, () => Promise<LoadClient>> = {
    ws: () => openRawWs(url, events),
    socketio: () => openSocketIo(url, spec, events),
    wsgate: () => openWsgate(url, spec, index, events),
  };
  return open[spec.kind]();
}

/** Plain `ws` server: every connected client receives every broadcast, so there is nothing to join. */
function openRawWs(url: string, events: ClientEvents): Promise<LoadClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, WS_OPTIONS);
    // `reject` after the promise settled is a no-op, so this also swallows late errors of an open socket.
    ws.on('error', reject);
    ws.once('open', () => {
      ws.on('message', events.onDelivery);
      ws.once('close', events.onClose);
      resolve({ send: (payload) => ws.send(payload), close: () => ws.terminate() });
    });
  });
}

/** How a `message` event packet starts on the wire (EVENT type 2, no namespace, no ack id). */
const SOCKET_IO_MESSAGE_PREFIX = '2["message",';

/**
 * socket.io-client's own parser, except that `message` events are counted as they arrive instead of being
 * JSON-parsed and dispatched: the load generator must stay cheaper than the server. Connect, ack and every other
 * packet go through the stock decoder, so the client behaves as shipped.
 */
function countingParser(onDelivery: (frame: string) => void): { Encoder: typeof Encoder; Decoder: typeof Decoder } {
  class CountingDecoder extends Decoder {
    override add(packet: unknown): void {
      if (typeof packet === 'string' && packet.startsWith(SOCKET_IO_MESSAGE_PREFIX)) onDelivery(packet);
      else super.add(packet);
    }
  }
  return { Encoder, Decoder: CountingDecoder };
}

function openSocketIo(url: string, spec: ConnectSpec, events: ClientEvents): Promise<LoadClient> {
  return new Promise((resolve, reject) => {
    // forceNew: one engine (one WebSocket) per client, as separate browsers would have; no polling, no reconnects.
    const socket: Socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 20_000,
      parser: countingParser(events.onDelivery),
    });
    const client: LoadClient = {
      send: (payload) => void socket.emit('publish', spec.channel, payload),
      close: () => void socket.disconnect(),
    };
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      socket.once('disconnect', events.onClose);
      if (!spec.subscribe) return resolve(client);
      socket.emit('subscribe', spec.channel, () => resolve(client));
    });
  });
}

async function mintTicket(baseUrl: string, apiKey: string, user: string): Promise<string> {
  const response = await fetch(`${baseUrl.replace(/^ws/, 'http')}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  if (!response.ok) throw new Error(`POST /api/tickets: HTTP ${response.status}`);
  const body = (await response.json()) as { ticket: string };
  return body.ticket;
}

/** Publications are recognised by this within the frame's first bytes (the envelope precedes `data`). */
const MESSAGE_TYPE = Buffer.from('"type":"message"');

interface WsgateFrame {
  type: string;
  id?: number | string;
  code?: string;
  message?: string;
}

/** wsgate: wait for `welcome`, then `subscribe` and wait for `subscribed`; after that every text frame is counted. */
async function openWsgate(baseUrl: string, spec: ConnectSpec, index: number, events: ClientEvents): Promise<LoadClient> {
  const query = spec.ticketApiKey ? `?ticket=${await mintTicket(baseUrl, spec.ticketApiKey, `bench-${index}`)}` : '';
  let publishId = 0;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl}/ws${query}`, WSGATE_SUBPROTOCOL, WS_OPTIONS);
    const client: LoadClient = {
      send: (payload) =>
        ws.send(`{"type":"publish","id":${++publishId},"channel":${JSON.stringify(spec.channel)},"data":"${payload}"}`),
      close: () => ws.terminate(),
    };
    let subscribed = false;
    const ready = (): void => {
      subscribed = true;
      ws.off('message', handshake);
      ws.on('message', (frame: Buffer) => {
        // A publication is the hot path: recognise it by its leading bytes, never by parsing.
        if (frame.subarray(0, 64).includes(MESSAGE_TYPE)) {
          events.onDelivery(frame);
        } else if (events.onReply) {
          events.onReply((JSON.parse(frame.toString()) as WsgateFrame).type);
        }
      });
      resolve(client);
    };
    const handshake = (frame: Buffer): void => {
      const parsed = JSON.parse(frame.toString()) as WsgateFrame;
      if (parsed.type === 'welcome') {
        if (!spec.subscribe) return ready();
        ws.send(JSON.stringify({ type: 'subscribe', id: 'sub', channel: spec.channel }));
      } else if (parsed.type === 'subscribed' && parsed.id === 'sub') {
        ready();
      } else if (parsed.type === 'error' || parsed.type === 'disconnect') {
        reject(new Error(`wsgate ${parsed.type}: ${parsed.code ?? ''} ${parsed.message ?? ''}`));
        ws.terminate();
      }
    };
    ws.on('error', reject);
    ws.once('unexpected-response', (request, response) => {
      reject(new Error(`handshake: HTTP ${response.statusCode}`));
      request.destroy();
    });
    ws.on('message', handshake);
    ws.once('close', (code) => {
      // Before `ready`, a server that closes (or dies) must fail the handshake rather than leave it pending.
      if (subscribed) events.onClose();
      else reject(new Error(`closed with ${code} before subscribing`));
    });
  });
}
