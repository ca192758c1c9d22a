import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisClient, RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { QueueEntry, WebhookQueue } from './webhook-queue.js';

/** The consumer group every node reads partitions through; consumers are node ids. */
const GROUP = 'delivery';
const FIELD = 'e';

/** KEYS[1] stream. ARGV max length, entries... Appends while the stream has room; returns how many fit, or the id of a single one. */
const APPEND = new LuaScript(`
local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])
if #ARGV == 2 then
  if room <= 0 then return false end
  return redis.call('XADD', KEYS[1], '*', '${FIELD}', ARGV[2])
end
local added = 0
for i = 2, #ARGV do
  if added >= room then break end
  redis.call('XADD', KEYS[1], '*', '${FIELD}', ARGV[i])
  added = added + 1
end
return added
`);

/** KEYS[1] lease. ARGV owner, ttl ms. Takes a free lease or renews one's own; 1 when held, 0 when another owner holds it. */
const LEASE = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/** KEYS[1] lease. ARGV owner. Deletes the lease only when the owner holds it. */
const RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * Group reads that only the partition's lease holder may make, so nothing is handed to a node that lost the lease
 * (its next owner's XAUTOCLAIM has already looked; an entry read after that would stay pending for nobody). The
 * group is created when the stream has none (new, or lost with a Redis restart).
 */
const GROUP_READ_FUNCTIONS = `
local function held(lease, owner)
  return redis.call('GET', lease) == owner
end
local function group_call(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    if not string.find(reply.err, 'NOGROUP', 1, true) then error(reply) end
    redis.call('XGROUP', 'CREATE', KEYS[1], '${GROUP}', '0', 'MKSTREAM')
    reply = redis.call(...)
  end
  return reply
end
`;

/** KEYS[1] stream, KEYS[2] lease. ARGV owner, count. {0} when owner does not hold the lease, else {1, XREADGROUP reply}. */
const READ_NEW = new LuaScript(`${GROUP_READ_FUNCTIONS}
if not held(KEYS[2], ARGV[1]) then return {0} end
return {1, group_call('XREADGROUP', 'GROUP', '${GROUP}', ARGV[1], 'COUNT', ARGV[2], 'STREAMS', KEYS[1], '>')}
`);

/**
 * KEYS[1] stream, KEYS[2] lease. ARGV owner, cursor, count. {0} when owner does not hold the lease, else {1, XAUTOCLAIM
 * reply}. Idle time 0: the lease, not idleness, says the earlier consumer is done.
 */
const CLAIM_PENDING = new LuaScript(`${GROUP_READ_FUNCTIONS}
if not held(KEYS[2], ARGV[1]) then return {0} end
return {1, group_call('XAUTOCLAIM', KEYS[1], '${GROUP}', ARGV[1], 0, ARGV[2], 'COUNT', ARGV[3])}
`);

/** KEYS[1] stream. ARGV ids... Acknowledged entries leave the stream, so its length is the backlog. */
const ACK = new LuaScript(`
redis.call('XACK', KEYS[1], '${GROUP}', unpack(ARGV))
return redis.call('XDEL', KEYS[1], unpack(ARGV))
`);

/** KEYS[1] dead-letter stream. ARGV ids... Removes and returns the entries found, so concurrent takers split them. */
const TAKE = new LuaScript(`
local taken = {}
for i = 1, #ARGV do
  local rows = redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])
  if #rows == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    taken[#taken + 1] = rows[1]
  end
end
return taken
`);

type StreamEntries = Array<[string, string[]] | null>;

/**
 * The webhook queue in Redis. Each partition is a Stream `{w:<partition>}:events` read through the consumer group
 * `delivery` (XREADGROUP; entries of a consumer that died are taken over with XAUTOCLAIM), acknowledged entries are
 * deleted (XACK + XDEL) so the stream's length is its backlog, and `{w:<partition>}:owner` is the lease (PX). Dead
 * letters are a Stream `{wd:<list>}:dead`. Everything of one partition shares a tag, so each script touches one slot.
 */
export class RedisWebhookQueue implements WebhookQueue {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private stream(partition: string): [RedisClient, string] {
    const tag = RoutingTag.webhookPartition(partition);
    return [this.keyspace.client(tag), this.keyspace.key(tag, 'events')];
  }
  private leaseKey(partition: string): [RedisClient, string] {
    const tag = RoutingTag.webhookPartition(partition);
    return [this.keyspace.client(tag), this.keyspace.key(tag, 'owner')];
  }
  private deadStream(list: string): [RedisClient, string] {
    const tag = RoutingTag.webhookDeadLetters(list);
    return [this.keyspace.client(tag), this.keyspace.key(tag, 'dead')];
  }

  async append(partition: string, entry: string, maxLength: number): Promise<string | null> {
    const [client, key] = this.stream(partition);
    return (await APPEND.run(client, [key], [maxLength, entry])) as string | null;
  }

  async length(partition: string): Promise<number> {
    const [client, key] = this.stream(partition);
    return client.xlen(key);
  }

  async lease(partition: string, owner: string, ttlMs: number): Promise<boolean> {
    const [client, key] = this.leaseKey(partition);
    return (await LEASE.run(client, [key], [owner, Math.max(1, Math.round(ttlMs))])) === 1;
  }

  async release(partition: string, owner: string): Promise<void> {
    const [client, key] = this.leaseKey(partition);
    await RELEASE.run(client, [key], [owner]);
  }

  async claimPending(partition: string, owner: string, cursor: string, count: number): Promise<{ entries: QueueEntry[]; next: string | null } | null> {
    const [client, key] = this.stream(partition);
    const [, lease] = this.leaseKey(partition);
    // The cursor is XAUTOCLAIM's own.
    const reply = (await CLAIM_PENDING.run(client, [key, lease], [owner, cursor, count])) as [0] | [1, [string, StreamEntries, string[]?]];
    if (reply[0] === 0) return null;
    const [next, entries] = reply[1];
    return { entries: parseEntries(entries), next: next === '0-0' ? null : next };
  }

  async readNew(partition: string, owner: string, count: number): Promise<QueueEntry[] | null> {
    const [client, key] = this.stream(partition);
    const [, lease] = this.leaseKey(partition);
    const reply = (await READ_NEW.run(client, [key, lease], [owner, count])) as [0] | [1, Array<[string, StreamEntries]> | null];
    if (reply[0] === 0) return null;
    return reply[1] ? parseEntries(reply[1][0]![1]) : [];
  }

  async ack(partition: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const [client, key] = this.stream(partition);
    await ACK.run(client, [key], ids);
  }

  async addDead(list: string, entries: readonly string[], maxLength: number): Promise<number> {
    if (entries.length === 0) return 0;
    const [client, key] = this.deadStream(list);
    if (entries.length === 1) return (await APPEND.run(client, [key], [maxLength, entries[0]!])) ? 1 : 0;
    return (await APPEND.run(client, [key], [maxLength, ...entries])) as number;
  }

  async listDead(list: string, after: string | null, limit: number): Promise<{ entries: QueueEntry[]; next: string | null }> {
    const [client, key] = this.deadStream(list);
    const rows = await client.xrange(key, after === null ? '-' : `(${after}`, '+', 'COUNT', limit + 1);
    const entries = parseEntries(rows as StreamEntries);
    return entries.length > limit ? { entries: entries.slice(0, limit), next: entries[limit - 1]!.id } : { entries, next: null };
  }

  async takeDead(list: string, ids: readonly string[]): Promise<QueueEntry[]> {
    if (ids.length === 0) return [];
    const [client, key] = this.deadStream(list);
    return parseEntries((await TAKE.run(client, [key], ids)) as StreamEntries);
  }

  async deadCount(list: string): Promise<number> {
    const [client, key] = this.deadStream(list);
    return client.xlen(key);
  }

  /** Connections belong to the engine. */
  async close(): Promise<void> {}
}

/** Stream rows `[id, [field, value, ...]]`; rows of entries deleted meanwhile come back as null and are skipped. */
function parseEntries(rows: StreamEntries): QueueEntry[] {
  const entries: QueueEntry[] = [];
  for (const row of rows ?? []) {
    if (!row || !row[1]) continue;
    const index = row[1].indexOf(FIELD);
    if (index !== -1 && row[1][index + 1] !== undefined) entries.push({ id: row[0], entry: row[1][index + 1]! });
  }
  return entries;
}
