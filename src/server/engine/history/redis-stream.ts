import { randomBytes } from 'node:crypto';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { HistoryOptions, StoredPublication } from './history.js';

/**
 * The Redis layout of a channel's stream, shared by the history store and the Redis channel publisher (which appends
 * and publishes in one script): per channel a meta hash `{c:<channel>}:history-meta` (offset, epoch) and a list
 * `{c:<channel>}:history` of the last `size` publications, both under the channel's tag.
 */

/** Streams that keep no publications still keep their offset and epoch this long after the last touch. */
export const COUNTER_TTL_MS = 24 * 3600_000;

/** KEYS of every stream script: the meta hash, then the publication list. */
export function streamKeys(keyspace: RedisKeyspace, channel: string): [meta: string, list: string] {
  const tag = RoutingTag.channel(channel);
  return [keyspace.key(tag, 'history-meta'), keyspace.key(tag, 'history')];
}

/**
 * Shared prologue: the stream's meta hash (offset, epoch) is created with the candidate epoch ARGV[1] when missing —
 * the stream was never there, expired, or the store lost it — and a stale publication list is dropped with it.
 */
export const ENSURE_META = `
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
 * Shared append step. KEYS[1] meta, KEYS[2] publication list. ARGV (`appendArgs`): candidate epoch, size, ttlMs,
 * counter ttl, entry body. Leaves the new `offset` (and `epoch`) in locals. List entries are
 * `<offset>:<from length>:<fromJson><dataJson>` so nothing is re-encoded.
 */
export const APPEND_STEP = `${ENSURE_META}
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

/** ARGV of APPEND_STEP; the entry body (ARGV[5]) ends with the publication's data, and is empty when nothing is kept. */
export function appendArgs(publication: StoredPublication, options: HistoryOptions): Array<string | number> {
  const size = Math.max(0, Math.floor(options.size));
  const body = `${publication.fromJson.length}:${publication.fromJson}${publication.dataJson}`;
  return [newEpoch(), size, Math.max(1, Math.round(options.ttlMs)), COUNTER_TTL_MS, size > 0 ? body : ''];
}

/** A candidate epoch: used when the stream has none yet. */
export function newEpoch(): string {
  return randomBytes(4).toString('hex');
}
