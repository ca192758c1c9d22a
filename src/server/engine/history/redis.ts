import type { StreamPosition } from '../../../protocol/frames.js';
import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { HistoryOptions, HistoryPage, HistoryQuery, HistoryStore, StoredPublication } from './history.js';
import { APPEND_STEP, appendArgs, COUNTER_TTL_MS, ENSURE_META, newEpoch, streamKeys } from './redis-stream.js';

/** KEYS and ARGV as APPEND_STEP. */
const APPEND = new LuaScript(`${APPEND_STEP}
return { offset, epoch }
`);

/** KEYS as APPEND. ARGV: candidate epoch, counter ttl. */
const POSITION = new LuaScript(`${ENSURE_META}
if created then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return { tonumber(redis.call('HGET', KEYS[1], 'offset')), epoch }
`);

/**
 * KEYS as APPEND. ARGV: candidate epoch, counter ttl, limit, since offset ('' for latest), since epoch, max bytes ('' for
 * no bound). Returns { offset, epoch, candidates, entries... }: of the latest \`limit\`, or the oldest \`limit\` kept
 * entries after \`since\` (\`candidates\` of them), the first that fit in max bytes (at least one unless it is 0).
 */
const READ = new LuaScript(`${ENSURE_META}
if created then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset'))
local limit = tonumber(ARGV[3])
local entries = {}
if limit > 0 then
  if ARGV[4] == '' then
    entries = redis.call('LRANGE', KEYS[2], -limit, -1)
  elseif ARGV[5] == epoch then
    local missed = offset - tonumber(ARGV[4])
    if missed > 0 then
      local kept = redis.call('LLEN', KEYS[2])
      local start = math.max(0, kept - missed)
      entries = redis.call('LRANGE', KEYS[2], start, math.min(kept - 1, start + limit - 1))
    end
  end
end
local result = { offset, epoch, #entries }
local budget = tonumber(ARGV[6])
local bytes = 0
for i = 1, #entries do
  if budget then
    local first = string.find(entries[i], ':', 1, true)
    local second = string.find(entries[i], ':', first + 1, true)
    bytes = bytes + #entries[i] - second
    if bytes > budget and (i > 1 or budget == 0) then break end
  end
  result[#result + 1] = entries[i]
end
return result
`);

/**
 * History in Redis, in the layout of `redis-stream.ts` (a meta hash and a publication list per channel, both on the
 * channel's shard), changed by one Lua script per call: offsets are assigned atomically, and the epoch is regenerated
 * whenever the meta hash is gone.
 */
export class RedisHistoryStore implements HistoryStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  async append(channel: string, publication: StoredPublication, options: HistoryOptions): Promise<StreamPosition> {
    const [offset, epoch] = (await APPEND.run(this.keyspace.client(RoutingTag.channel(channel)), streamKeys(this.keyspace, channel), appendArgs(publication, options))) as [number, string];
    return { offset, epoch };
  }

  async position(channel: string): Promise<StreamPosition> {
    const [offset, epoch] = (await POSITION.run(this.keyspace.client(RoutingTag.channel(channel)), streamKeys(this.keyspace, channel), [
      newEpoch(),
      COUNTER_TTL_MS,
    ])) as [number, string];
    return { offset, epoch };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    const { since } = query;
    const limit = Math.max(0, Math.floor(query.limit));
    const [offset, epoch, candidates, ...entries] = (await READ.run(this.keyspace.client(RoutingTag.channel(channel)), streamKeys(this.keyspace, channel), [
      newEpoch(),
      COUNTER_TTL_MS,
      limit,
      since ? String(since.offset) : '',
      since ? since.epoch : '',
      query.maxBytes === undefined ? '' : Math.max(0, Math.floor(query.maxBytes)),
    ])) as [number, string, number, ...string[]];
    const position = { offset, epoch };
    const kept = entries.map(decodeEntry);
    const more = kept.length < candidates ? { more: true as const } : {};
    if (!since) return { ...position, recovered: true, publications: kept, ...more };
    if (since.epoch !== epoch || since.offset > offset) return { ...position, recovered: false, publications: [] };
    const missed = kept.filter((publication) => publication.offset > since.offset);
    // Complete when the kept entries start right after `since` and every missed one fits in `limit`.
    const complete = offset - since.offset <= limit && candidates === offset - since.offset;
    return { ...position, recovered: complete, publications: missed, ...more };
  }

  async close(): Promise<void> {}
}

function decodeEntry(entry: string): StoredPublication & { offset: number } {
  const first = entry.indexOf(':');
  const second = entry.indexOf(':', first + 1);
  const fromLength = Number(entry.slice(first + 1, second));
  const fromStart = second + 1;
  return {
    dataJson: entry.slice(fromStart + fromLength),
    fromJson: entry.slice(fromStart, fromStart + fromLength),
    offset: Number(entry.slice(0, first)),
  };
}
