/**
 * `POST /api/tickets` as one HTTP/1.1 request on its own connection (`Connection: close`), written and read by hand.
 *
 * The scale scenario mints a ticket before every attempt, thousands at once in a reconnect storm. `fetch` (undici) costs
 * the load process far more per request than the server's own work (streams, a Response, keep-alive pools) and keeps
 * idle connections open, each holding a slot of the balancer's `maxconn`. A browser's fetch to the application's backend
 * would be its own connection too, so one connection per ticket is also the closer model of a fleet of clients.
 */
import { connect } from 'node:net';

/** Why a ticket request failed: `ticket HTTP 503`, `ticket tcp ECONNRESET`, `ticket timed out`, ... (for counting). */
export class TicketError extends Error {}

const HEADER_END = '\r\n\r\n';
/** A reply larger than this is not a ticket. */
const MAX_REPLY = 16_384;

export function requestTicket(host: string, port: number, apiKey: string, user: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ user });
    const socket = connect({ host, port, noDelay: true });
    let reply = '';
    let settled = false;
    const settle = (error: TicketError | undefined, ticket?: string): void => {
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(ticket!);
    };
    // Every path checks `settled` before building its error: a stack trace per request is a cost worth not paying.
    const fail = (reason: string): void => {
      if (!settled) settle(new TicketError(reason));
    };
    const timer = setTimeout(() => fail('ticket timed out'), timeoutMs);
    socket.setEncoding('latin1');
    socket.once('connect', () => {
      socket.write(
        `POST /api/tickets HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${apiKey}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    socket.on('data', (chunk: string) => {
      if (settled) return;
      reply += chunk;
      if (reply.length > MAX_REPLY) return fail('ticket reply too large');
      const outcome = parseReply(reply);
      if (outcome === undefined) return;
      if (outcome instanceof TicketError) settle(outcome);
      else settle(undefined, outcome);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => fail(`ticket tcp ${error.code ?? error.message}`));
    socket.on('close', () => fail(reply === '' ? 'ticket tcp closed without a reply' : 'ticket reply cut short'));
  });
}

/** The ticket once the whole reply is in, an error for any other status, or undefined while bytes are missing. */
function parseReply(reply: string): string | TicketError | undefined {
  const end = reply.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1];
  if (status !== '200') return new TicketError(`ticket HTTP ${status ?? '?'}`);
  const length = /\r\ncontent-length: *(\d+)/i.exec(reply.slice(0, end))?.[1];
  if (length === undefined) return new TicketError('ticket reply without content-length');
  const body = reply.slice(end + HEADER_END.length);
  // latin1 keeps one character per byte, so the length compares with Content-Length.
  if (body.length < Number(length)) return undefined;
  let ticket: unknown;
  try {
    ticket = (JSON.parse(body.slice(0, Number(length))) as { ticket?: unknown }).ticket;
  } catch {
    return new TicketError('ticket reply not JSON');
  }
  return typeof ticket === 'string' ? ticket : new TicketError('ticket reply without a ticket');
}
