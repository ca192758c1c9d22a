import { pino, stdSerializers, type Logger } from 'pino';
import { stdoutLogSink } from './log-sink.js';

export type { Logger };

/** Paths that may hold credentials; pino replaces them before anything is written. */
const REDACT = [
  'ticket', 'token', 'cookie', 'authorization', 'apiKey',
  '*.ticket', '*.token', '*.cookie', '*.authorization', '*.apiKey',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
  'res.headers["set-cookie"]',
];

/** A pino logger; without a destination it writes to the process's stdout sink, which never blocks (see log-sink.ts). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { req: serializeRequest, err: serializeError },
    },
    (destination ?? stdoutLogSink()) as pino.DestinationStream,
  );
}

interface RequestLike {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}

/** Requests are logged without their query string: tickets and tokens travel there. */
export function serializeRequest(req: RequestLike): Record<string, unknown> {
  return { method: req.method, path: stripQuery(req.url), ip: req.ip ?? req.socket?.remoteAddress };
}

export function stripQuery(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const index = url.indexOf('?');
  return index === -1 ? url : url.slice(0, index);
}

/** Fields of errors that carry a URL (a `TypeError: Invalid URL` has the input, Node's HTTP errors the request's). */
const URL_FIELDS = new Set(['input', 'url', 'path', 'href']);

/**
 * Errors as pino's standard serializer writes them, minus what may hold credentials: the query string of any URL they
 * carry (tickets and tokens travel there) and the raw bytes of a request the HTTP parser refused.
 */
export function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  return scrub(stdSerializers.err(error) as unknown as Record<string, unknown>);
}

function scrub(fields: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'rawPacket') delete fields[key];
    else if (typeof value === 'string' && URL_FIELDS.has(key)) fields[key] = stripQuery(value);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) scrub(value as Record<string, unknown>);
  }
  return fields;
}
