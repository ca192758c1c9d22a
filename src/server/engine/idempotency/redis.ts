import { randomBytes } from 'node:crypto';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { LuaScript } from '../keyspace/lua-script.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { IdempotencyStore, IdempotentResult } from './idempotency.js';

interface StoredEntry {
  fingerprint: string;
  /** Set while the first request is still producing; its owner token lets only that request release it. */
  pending?: string;
  value?: unknown;
}

/** A pending claim outlives its producer by at most this much, so a node dying mid-request does not block the key. */
const PENDING_MS = 15_000;
const POLL_MS = 25;

/** Deletes the key only while it still holds the caller's pending claim. */
const RELEASE = new LuaScript(`local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value).pending == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/**
 * Idempotency keys in Redis, `{i:<key>}:idem`. The first request claims the key with `SET NX` (a short pending entry)
 * and replaces it with its answer for `ttlMs`; concurrent requests on any node see the claim and wait for the answer.
 * A failed request releases its claim, so a retry runs again.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(private readonly keyspace: RedisKeyspace, private readonly maxWaitMs = PENDING_MS) {}

  async once<T>(key: string, fingerprint: string, ttlMs: number, produce: () => Promise<T>): Promise<IdempotentResult<T>> {
    const tag = RoutingTag.idempotency(key);
    const redisKey = this.keyspace.key(tag, 'idem');
    const client = this.keyspace.client(tag);
    const owner = randomBytes(9).toString('base64url');
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const claim: StoredEntry = { fingerprint, pending: owner };
      const claimed = await client.set(redisKey, JSON.stringify(claim), 'PX', Math.min(PENDING_MS, ttlMs), 'NX');
      if (claimed === 'OK') {
        let value: T;
        try {
          value = await produce();
        } catch (error) {
          await RELEASE.run(client, [redisKey], [owner]).catch(() => undefined);
          throw error;
        }
        const answer: StoredEntry = { fingerprint, value };
        await client.set(redisKey, JSON.stringify(answer), 'PX', Math.max(1, ttlMs));
        return { kind: 'answer', value, replayed: false };
      }
      const raw = await client.get(redisKey);
      if (raw !== null) {
        const entry = JSON.parse(raw) as StoredEntry;
        if (entry.fingerprint !== fingerprint) return { kind: 'conflict' };
        if (entry.pending === undefined) return { kind: 'answer', value: entry.value as T, replayed: true };
        // Still being produced elsewhere: its answer follows within PENDING_MS, or the claim lapses.
        if (Date.now() > deadline) return { kind: 'conflict' };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
