import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WsgateError } from '../../protocol/errors.js';

/**
 * An error answered straight on the socket, for requests that never reach the HTTP framework (refused handshakes,
 * requests the HTTP parser gave up on): the catalogue's status and JSON body `{code, message}`, `X-Wsgate-Error`, and
 * the connection closed after it. 503s carry `Retry-After`.
 */
export function writeErrorResponse(socket: Duplex, error: WsgateError, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code: error.code, message: error.message });
  const all: Record<string, string> = {
    Connection: 'close',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    'X-Wsgate-Error': error.code,
    ...(error.status === 503 ? { 'Retry-After': '5' } : {}),
    ...headers,
  };
  const head = Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${head}\r\n${body}`);
  // Whatever the client still sends is of no interest; do not wait for it to close its side.
  socket.once('finish', () => socket.destroy());
}
