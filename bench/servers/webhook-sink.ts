/**
 * A webhook receiver for the bench: answers 204 to every request and counts the events it got (and the time of the
 * last one). Reports `{ev: 'listening', port}` and, asked `{cmd: 'count'}`, `{ev: 'count', events, lastAt}`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let events = 0;
let lastAt = 0;
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    events += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[] }).events.length;
    lastAt = Date.now();
    response.writeHead(204).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ ev: 'listening', port: (server.address() as AddressInfo).port }));
process.on('message', (message: { cmd?: string }) => {
  if (message.cmd === 'count') process.send?.({ ev: 'count', events, lastAt });
});
