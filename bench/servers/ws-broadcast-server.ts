/**
 * The baseline every Node WebSocket server starts from: the `ws` README broadcast loop (send to every other open
 * client, one `send` per client) with the README heartbeat (ping every interval, terminate on a missed pong).
 * Usage: node --import tsx bench/servers/ws-broadcast-server.ts <pingIntervalMs>
 */
import WebSocket, { WebSocketServer } from 'ws';

const pingIntervalMs = Number(process.argv[2] ?? 25_000);
const alive = new WeakSet<WebSocket>();

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, backlog: 4096 });

wss.on('connection', (ws) => {
  alive.add(ws);
  ws.on('error', () => ws.terminate());
  ws.on('pong', () => alive.add(ws));
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});

const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (!alive.has(ws)) {
      ws.terminate();
      continue;
    }
    alive.delete(ws);
    ws.ping();
  }
}, pingIntervalMs);
wss.on('close', () => clearInterval(heartbeat));

wss.on('listening', () => {
  const address = wss.address();
  if (address && typeof address === 'object') process.send?.({ ev: 'listening', port: address.port });
});
