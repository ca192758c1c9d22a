/**
 * What one small `net.Socket` write costs a Node process, without a WebSocket server around it: the floor under any
 * Node server's CPU per delivery when each delivery is its own write (low publication rates). N loopback connections
 * to a reader process that discards what arrives; every round writes one 70-byte buffer (a 64-byte payload in its
 * WebSocket frame) to each of them, rounds `--gap-ms` apart; user and system CPU of the writing process per write.
 *
 *   node --import tsx bench/socket-write-cost.ts [--connections 1000] [--rounds 300] [--gap-ms 25]
 *
 * Variants: `write` (socket.write of a shared buffer), `write+callback` (with a completion callback, as a write that
 * releases something does), `copy+write` (a fresh buffer copied per socket, as a batch built per session would be),
 * and `write, ws-upgraded` (the same write to the TCP sockets of WebSocket connections a `ws` server accepted from `ws`
 * clients, as a server's sockets are: reading, with ws's listeners on them).
 */
import { fork } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';

const FRAME_BYTES = 70;

if (process.argv[2] === '--ws-reader') {
  const [count, port] = [Number(process.argv[3]), Number(process.argv[4])];
  let open = 0;
  for (let i = 0; i < count; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    client.on('message', () => {});
    client.on('open', () => {
      if (++open === count) process.send?.('ready');
    });
  }
} else if (process.argv[2] === '--reader') {
  // The reading side: every connection reads into one shared buffer and drops the bytes.
  const [count, port] = [Number(process.argv[3]), Number(process.argv[4])];
  const buffer = Buffer.alloc(64 * 1024);
  let open = 0;
  for (let i = 0; i < count; i++) {
    const socket = createConnection({ port, host: '127.0.0.1', onread: { buffer, callback: () => true } });
    socket.on('connect', () => {
      if (++open === count) process.send?.('ready');
    });
  }
} else {
  const { values } = parseArgs({
    options: { connections: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '300' }, 'gap-ms': { type: 'string', default: '25' } },
  });
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const gapMs = Number(values['gap-ms']);

  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    // Reading, as a server's sockets are (its clients' frames and pongs).
    socket.on('data', () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const reader = fork(new URL(import.meta.url).pathname, ['--reader', String(connections), String(port)], { execArgv: ['--import', 'tsx'] });
  await new Promise((resolve) => reader.once('message', resolve));
  while (sockets.length < connections) await new Promise((resolve) => setTimeout(resolve, 10));

  const frame = Buffer.alloc(FRAME_BYTES, 0x2e);
  const done = (): void => {};
  const variants: Record<string, (socket: Socket) => void> = {
    write: (socket) => socket.write(frame),
    'write+callback': (socket) => socket.write(frame, done),
    'copy+write': (socket) => {
      const out = Buffer.allocUnsafe(FRAME_BYTES);
      frame.copy(out, 0);
      socket.write(out);
    },
  };

  const results: string[] = [];
  const measure = async (name: string, targets: readonly Socket[], write: (socket: Socket) => void): Promise<void> => {
    for (let i = 0; i < 50; i++) for (const socket of targets) write(socket);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      for (const socket of targets) write(socket);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const used = process.cpuUsage(before);
    const writes = rounds * targets.length;
    results.push(`${name.padEnd(20)} user ${(used.user / writes).toFixed(2)} µs, system ${(used.system / writes).toFixed(2)} µs per write`);
  };
  for (const [name, write] of Object.entries(variants)) await measure(name, sockets, write);

  // The same write to the sockets of WebSocket connections: a server frame (text, 64-byte payload) on each.
  const upgraded: Socket[] = [];
  const http = createHttpServer();
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', () => {});
    upgraded.push((ws as unknown as { _socket: Socket })._socket);
  }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const wsReader = fork(new URL(import.meta.url).pathname, ['--ws-reader', String(connections), String((http.address() as { port: number }).port)], { execArgv: ['--import', 'tsx'] });
  await new Promise((resolve) => wsReader.once('message', resolve));
  const wsFrame = Buffer.concat([Buffer.from([0x81, FRAME_BYTES - 6]), Buffer.alloc(FRAME_BYTES - 6, 0x2e)]);
  await measure('write, ws-upgraded', upgraded, (socket) => socket.write(wsFrame));
  wsReader.kill();
  for (const socket of upgraded) socket.destroy();
  http.close();
  console.log(`${connections} connections, ${rounds} rounds ${gapMs} ms apart, ${FRAME_BYTES}-byte writes (${process.version}):`);
  for (const line of results) console.log(`  ${line}`);
  reader.kill();
  server.close();
  for (const socket of sockets) socket.destroy();
}
