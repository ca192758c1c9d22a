/**
 * What one small `net.Socket` write costs a Node process, without a WebSocket server around it: the floor under any
 * Node server's CPU per delivery when each delivery is its own write (low publication rates). N loopback connections
 * to a reader process that discards what arrives; every round writes one 70-byte buffer (a 64-byte payload in its
 * WebSocket frame) to each of them, rounds `--gap-ms` apart; user and system CPU of the writing process per write.
 *
 *   node --import tsx bench/socket-write-cost.ts [--connections 1000] [--rounds 300] [--gap-ms 25]
 *
 * Variants: `write` (socket.write of a shared buffer), `write+callback` (with a completion callback, as a write that
 * releases something does), `copy+write` (a fresh buffer copied per socket, as a batch built per session would be).
 */
import { fork } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const FRAME_BYTES = 70;

if (process.argv[2] === '--reader') {
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
  for (const [name, write] of Object.entries(variants)) {
    for (let i = 0; i < 50; i++) for (const socket of sockets) write(socket);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      for (const socket of sockets) write(socket);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const used = process.cpuUsage(before);
    const writes = rounds * connections;
    results.push(`${name.padEnd(15)} user ${(used.user / writes).toFixed(2)} µs, system ${(used.system / writes).toFixed(2)} µs per write`);
  }
  console.log(`${connections} connections, ${rounds} rounds ${gapMs} ms apart, ${FRAME_BYTES}-byte writes (${process.version}):`);
  for (const line of results) console.log(`  ${line}`);
  reader.kill();
  server.close();
  for (const socket of sockets) socket.destroy();
}
