import { connect as connectTcp, type Socket } from 'node:net';

/** A plain TCP connection to a node: the test decides every byte and every pause. */
export interface RawConnection {
  socket: Socket;
  /** Everything the node sent so far. */
  received(): string;
  /** Resolves when the node closed the connection, with the time since it was opened and what it sent. */
  closed: Promise<{ afterMs: number; data: string }>;
}

export async function rawConnection(port: number): Promise<RawConnection> {
  const socket = connectTcp(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const openedAt = Date.now();
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<{ afterMs: number; data: string }>((resolve) =>
    socket.once('close', () => resolve({ afterMs: Date.now() - openedAt, data })));
  return { socket, received: () => data, closed };
}

/** Sends one raw request and resolves with the node's answer (once its JSON body is in, or the node closed). */
export async function rawExchange(port: number, request: string): Promise<string> {
  const connection = await rawConnection(port);
  connection.socket.on('data', () => {
    if (/\r\n\r\n[\s\S]*\}$/.test(connection.received())) connection.socket.end();
  });
  connection.socket.write(request, 'latin1');
  return (await connection.closed).data;
}

/** The status code of a raw HTTP answer (0 when there is none). */
export function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

/** The headers of a WebSocket upgrade request, minus the version, so tests can vary it. */
export const UPGRADE_HEADERS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
