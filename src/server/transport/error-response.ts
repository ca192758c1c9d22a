import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WsgateError } from '../../protocol/errors.js';

/** The parts of an error answer: the catalogue's status, JSON body `{code, message}` and headers. */
export function errorResponse(error: WsgateError, headers: Record<string, string> = {}): { status: number; body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ code: error.code, message: error.message });
  return {
    status: error.status,
    body,
    headers: {
      Connection: 'close',
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      'X-Wsgate-Error': error.code,
      ...(error.status === 503 ? { 'Retry-After': '5' } : {}),
      ...headers,
    },
  };
}

/**
 * An error answered straight on the socket, for requests that never reach the HTTP framework (refused handshakes,
 * requests the HTTP parser gave up on), and the connection closed after it. 503s carry `Retry-After`.
 */
export function writeErrorResponse(socket: Duplex, error: WsgateError, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const response = errorResponse(error, headers);
  const head = Object.entries(response.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Error'}\r\n${head}\r\n${response.body}`);
  // Whatever the client still sends is of no interest; do not wait for it to close its side.
  socket.once('finish', () => socket.destroy());
}
