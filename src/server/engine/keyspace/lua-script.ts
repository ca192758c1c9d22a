import { createHash } from 'node:crypto';
import type { RedisClient } from './keyspace.js';

/**
 * A Lua script run by SHA (EVALSHA), loaded on first use per server (NOSCRIPT falls back to EVAL, which caches it).
 * Scripts run atomically on one server; every key they touch must share a routing tag.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
