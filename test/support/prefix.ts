import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

let counter = 0;

/** A key prefix no other test (in this or another process) uses, so tests can share one Redis or NATS. */
export function uniquePrefix(label = 't'): string {
  return `wsgate-test:${label}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
}

/**
 * Removes every key under `prefix` from the Redis at `url`: a cluster whose nodes were killed leaves its channels'
 * and nodes' keys behind, and tests share the machine's Redis. A Redis that is not reachable is left alone.
 */
export async function dropKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, enableOfflineQueue: false });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // Gone (a test stopped it) or never there: nothing of this prefix is left to remove.
  } finally {
    redis.disconnect();
  }
}
