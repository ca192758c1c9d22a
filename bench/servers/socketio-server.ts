/**
 * Socket.IO 4 the way its docs do fan-out: rooms. `subscribe` joins a room (acknowledged), `publish` emits to the room
 * except the sender. WebSocket transport only. With a Redis URL it uses @socket.io/redis-adapter so several of these
 * processes form one cluster (the cross-node peer).
 * Usage: node --import tsx bench/servers/socketio-server.ts <pingIntervalMs> [redisUrl]
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';

const pingIntervalMs = Number(process.argv[2] ?? 25_000);
const redisUrl = process.argv[3];

const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  pingInterval: pingIntervalMs,
  pingTimeout: 20_000,
  perMessageDeflate: false,
});

if (redisUrl) {
  // The adapter's documented setup: one connection publishes, a duplicate subscribes.
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

io.on('connection', (socket) => {
  socket.on('subscribe', (room: string, ack?: () => void) => {
    void socket.join(room);
    ack?.();
  });
  socket.on('publish', (room: string, data: string) => {
    socket.to(room).emit('message', data);
  });
});

httpServer.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = httpServer.address();
  if (address && typeof address === 'object') process.send?.({ ev: 'listening', port: address.port });
});
