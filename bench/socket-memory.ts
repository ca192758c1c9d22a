/**
 * What a WebSocket connection costs a Node process in V8 heap before any application state: a bare `net.Socket` kept
 * after a hand-written 101 (its listeners, no parser), against the same connection accepted by a `ws` server (its
 * WebSocket, Receiver and Sender on the socket). The difference is what a server built on `ws` carries per idle
 * connection for `ws` itself, and the most a WebSocket layer of its own could save.
 *
 *   node --import tsx bench/socket-memory.ts [--connections 4000]
 *
 * Each variant runs in a fresh child process (`--expose-gc`); heap is read after two full collections, before the
 * clients connect and once they are all open, and divided by the connections.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const VARIANTS = ['net.Socket', 'ws'] as const;
type Variant = (typeof VARIANTS)[number];
interface HeapReading { heapUsed: number; held: number }

function serve(variant: Variant): void {
  const held: unknown[] = [];
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, clientTracking: false });
  const ignore = (): void => {};
  server.on('upgrade', (req, socket: Socket, head) => {
    if (variant === 'ws') {
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', ignore);
        ws.on('close', ignore);
        held.push(ws);
      });
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${ACCEPT_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.setNoDelay(true);
    socket.on('data', ignore);
    socket.on('close', ignore);
    socket.on('error', ignore);
    held.push(socket);
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
  process.on('message', () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    gc();
    process.send?.({ heapUsed: process.memoryUsage().heapUsed, held: held.length } satisfies HeapReading);
  });
}

async function measure(variant: Variant, connections: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', variant], { execArgv: [...process.execArgv, '--expose-gc'] });
  const next = <T>(): Promise<T> => new Promise((resolve) => child.once('message', (message) => resolve(message as T)));
  const reading = (): Promise<HeapReading> => {
    const reply = next<HeapReading>();
    child.send('read');
    return reply;
  };
  const { port } = await next<{ port: number }>();
  const before = await reading();
  const clients: WebSocket[] = [];
  for (let opened = 0; opened < connections; opened += 100) {
    const batch = Array.from({ length: Math.min(100, connections - opened) }, () => {
      const client = new WebSocket(`ws://127.0.0.1:${port}/`);
      clients.push(client);
      return new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    });
    await Promise.all(batch);
  }
  const after = await reading();
  if (after.held !== connections) throw new Error(`${variant}: ${after.held} of ${connections} connections held`);
  for (const client of clients) client.terminate();
  child.kill();
  return (after.heapUsed - before.heapUsed) / connections;
}

if (process.argv[2] === '--serve') {
  serve(process.argv[3] as Variant);
} else {
  const { values } = parseArgs({ options: { connections: { type: 'string', default: '4000' } } });
  const connections = Number(values.connections);
  const perConnection: Record<string, number> = {};
  for (const variant of VARIANTS) perConnection[variant] = await measure(variant, connections);
  for (const variant of VARIANTS) console.log(`${variant.padEnd(10)} ${perConnection[variant]!.toFixed(0).padStart(6)} B of heap per connection (${connections} connections)`);
  console.log(`ws over a bare socket: ${(perConnection.ws! - perConnection['net.Socket']!).toFixed(0)} B per connection`);
  process.exit(0);
}
