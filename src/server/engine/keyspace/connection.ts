import { Redis, type RedisOptions } from 'ioredis';
import type { RedisErrorListener } from './keyspace.js';
import { failUnansweredCommands } from './unanswered-commands.js';

/**
 * The connections wsgate makes itself (from `engine.redisUrls`), and the steps every keyspace and broker takes with
 * a connection, made by wsgate or handed in by the caller.
 */

/** Reconnect quickly at first, then every 2 s at most, forever: a gateway waits for its store to come back. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000);
}

/** A lazy connection with wsgate's defaults: no offline queue, one retry per command, reconnect forever. */
export function createRedisClient(url: string, options: { onError?: RedisErrorListener; redisOptions?: RedisOptions }, overrides: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail fast while disconnected: the gateway answers an error (or degrades to local delivery) instead of
    // queueing work that would burst out, stale, after the outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Never run a command twice because its reply was lost with the connection (see failUnansweredCommands).
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelay,
    // ioredis waits this long for a socket that never opened to close before destroying it; keep shutdown quick.
    disconnectTimeout: 200,
    ...options.redisOptions,
    ...overrides,
  });
  failUnansweredCommands(client);
  // An unhandled 'error' event would crash the process; connection errors are expected during outages.
  client.on('error', (error: Error) => options.onError?.(error, redactUrl(url)));
  return client;
}

/** Connects a lazy client; a client that is already connecting or connected is awaited until ready. */
export async function connectClient(client: Redis, url: string): Promise<void> {
  try {
    if (client.status === 'wait') await client.connect();
    else if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', resolve));
  } catch (error) {
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
}

/** Quits a connection (or drops one that is not ready); a closed one is left as it is. */
export async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

/** URLs may carry passwords; errors and logs show them without. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
