import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may hold credentials; pino replaces them before anything is written. */
const REDACT = [
  'ticket', 'token', 'cookie', 'authorization', 'apiKey',
  '*.ticket', '*.token', '*.cookie', '*.authorization', '*.apiKey',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
  'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { req: serializeRequest },
    },
    destination as pino.DestinationStream | undefined,
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
