import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { LuaScript } from '../keyspace/lua-script.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { RateAllowance, RateLimitStore, RateSubject } from './rate-limits.js';

/**
 * GCRA on one key holding the next theoretical arrival time in microseconds, on Redis's own clock. Answers 0 (allowed)
 * or the microseconds until a call would be. The key expires when the bucket is full again.
 */
const TAKE = new LuaScript(`local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = 1000000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local arrival = tonumber(redis.call('GET', KEYS[1]) or now)
if arrival < now then arrival = now end
local allowedAt = arrival + interval - burst * interval
if now < allowedAt then return math.ceil(allowedAt - now) end
local nextArrival = math.floor(arrival + interval)
redis.call('SET', KEYS[1], string.format('%.0f', nextArrival), 'PX', math.ceil((nextArrival - now) / 1000) + 1)
return 0`);

/** Rate buckets in Redis: `{u:<user>}:rate:<bucket>` on the user's shard or slot, `{k:<key id>}:rate:<bucket>` for API keys. */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  async take(subject: RateSubject, bucket: string, { rate, burst }: RateAllowance): Promise<number> {
    const tag = subject.kind === 'user' ? RoutingTag.user(subject.id) : RoutingTag.apiKey(subject.id);
    const waitMicros = Number(await TAKE.run(this.keyspace.client(tag), [this.keyspace.key(tag, `rate:${bucket}`)], [rate, burst]));
    return waitMicros / 1_000_000;
  }
}
