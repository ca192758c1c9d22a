import { randomBytes } from 'node:crypto';
import type { StreamPosition } from '../../../protocol/frames.js';
import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { FrameTemplate } from '../../codec/broker-envelope.js';
import type { HistoryOptions, HistoryPage, HistoryQuery, HistoryStore, StoredPublication } from './history.js';

/** Streams that keep no publications still keep their offset and epoch this long after the last touch. */
const COUNTER_TTL_MS = 24 * 3600_000;

/**
 * Shared prologue: the stream's meta hash (offset, epoch) is created with the candidate epoch ARGV[1] when missing —
 * the stream was never there, expired, or the store lost it — and a stale publication list is dropped with it.
 */
const ENSURE_META = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local created = false
if not epoch then
  epoch = ARGV[1]
  created = true
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
end
`;

/**
 * Shared append step. KEYS[1] meta, KEYS[2] publication list. ARGV: candidate epoch, size, ttlMs, counter ttl, entry
 * body. Leaves the new `offset` (and `epoch`) in locals. List entries are `<offset>:<from length>:<fromJson><dataJson>`
 * so nothing is re-encoded.
 */
const APPEND_STEP = `${ENSURE_META}
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local size = tonumber(ARGV[2])
local ttl = tonumber(ARGV[4])
if size > 0 then
  redis.call('RPUSH', KEYS[2], offset .. ':' .. ARGV[5])
  redis.call('LTRIM', KEYS[2], -size, -1)
  ttl = tonumber(ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
`;

/** KEYS and ARGV as APPEND_STEP. */
const APPEND = new LuaScript(`${APPEND_STEP}
return { offset, epoch }
`);

/**
 * APPEND_STEP, then the envelope to pub/sub in the same script, so the channel's offsets enter pub/sub in order.
 * ARGV 6..11: pub/sub command (PUBLISH, or SPUBLISH on a cluster: the name carries the channel's hash tag, so it is
 * the keys' slot), pub/sub name, excluded session, and the frame template (before offset, before epoch, after epoch).
 * The envelope is the bytes of `encodePublicationEnvelope`: `\x02<offset> <epoch> <exclude>\n<frame>`.
 */
const APPEND_AND_PUBLISH = new LuaScript(`${APPEND_STEP}
local digits = string.format('%d', offset)
local frame = ARGV[9] .. digits .. ARGV[10] .. epoch .. ARGV[11]
redis.call(ARGV[6], ARGV[7], '\\2' .. digits .. ' ' .. epoch .. ' ' .. ARGV[8] .. '\\n' .. frame)
return { offset, epoch }
`);

/** Where `appendAndPublish` sends the envelope. */
export interface PubSubTarget {
  command: 'PUBLISH' | 'SPUBLISH';
  /** The pub/sub name of the channel; it must live where the channel's keys live (same shard, same slot). */
  name: string;
}

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
 * History in Redis: per channel a meta hash `{c:<channel>}:history-meta` (offset, epoch) and a list
 * `{c:<channel>}:history` of the last `size` publications, both on the channel's shard and changed by one Lua script
 * per call: offsets are assigned atomically, and the epoch is regenerated whenever the meta hash is gone.
 */
export class RedisHistoryStore implements HistoryStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private keys(channel: string): [string, string] {
    const tag = RoutingTag.channel(channel);
    return [this.keyspace.key(tag, 'history-meta'), this.keyspace.key(tag, 'history')];
  }

  async append(channel: string, publication: StoredPublication, options: HistoryOptions): Promise<StreamPosition> {
    const [offset, epoch] = (await APPEND.run(this.keyspace.client(RoutingTag.channel(channel)), this.keys(channel), appendArgs(publication, options))) as [number, string];
    return { offset, epoch };
  }

  /**
   * `append` and the publication's envelope to `target` in one script on the channel's shard (or slot): no other
   * publication of the channel can take an offset between this one's offset and its publish.
   */
  async appendAndPublish(channel: string, publication: StoredPublication, options: HistoryOptions, target: PubSubTarget, excludeSession: string | null, template: FrameTemplate): Promise<StreamPosition> {
    const [offset, epoch] = (await APPEND_AND_PUBLISH.run(this.keyspace.client(RoutingTag.channel(channel)), this.keys(channel), [
      ...appendArgs(publication, options),
      target.command,
      target.name,
      excludeSession ?? '',
      template.beforeOffset,
      template.beforeEpoch,
      template.afterEpoch,
    ])) as [number, string];
    return { offset, epoch };
  }

  async position(channel: string): Promise<StreamPosition> {
    const [offset, epoch] = (await POSITION.run(this.keyspace.client(RoutingTag.channel(channel)), this.keys(channel), [
      newEpoch(),
      COUNTER_TTL_MS,
    ])) as [number, string];
    return { offset, epoch };
  }

  async read(channel: string, query: HistoryQuery): Promise<HistoryPage> {
    const { since } = query;
    const limit = Math.max(0, Math.floor(query.limit));
    const [offset, epoch, candidates, ...entries] = (await READ.run(this.keyspace.client(RoutingTag.channel(channel)), this.keys(channel), [
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

/** ARGV of APPEND_STEP. */
function appendArgs(publication: StoredPublication, options: HistoryOptions): Array<string | number> {
  const size = Math.max(0, Math.floor(options.size));
  const body = `${publication.fromJson.length}:${publication.fromJson}${publication.dataJson}`;
  return [newEpoch(), size, Math.max(1, Math.round(options.ttlMs)), COUNTER_TTL_MS, size > 0 ? body : ''];
}

function newEpoch(): string {
  return randomBytes(4).toString('hex');
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
