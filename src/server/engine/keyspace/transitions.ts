import { randomHex } from '../../random/random-token.js';
import { LuaScript } from './lua-script.js';
import type { RedisClient } from './keyspace.js';
import { TRANSITION_MEMORY_MS } from '../transition-counter.js';

/**
 * Lua functions for transition counters, put in front of the scripts that decide transitions. A counter is a hash
 * with `seq` (the last transition's number) and `last` (`<kind>\n<call token>\n<extra>`: which transition, made by
 * which call). Every call carries a token of its own; when ioredis resends a command whose reply a dropped connection
 * lost, the script runs again with the same token and answers what it answered the first time, so a transition the
 * store made is not lost with its reply. Another call (another token) is never told of a transition it did not make.
 *
 * - `transition(key, kind, token, ttl, extra)`: counts a transition; `ttl` (ms) makes the counter outlive its key's
 *   last member for a while, false keeps it (the key has members again).
 * - `recall(key, kind, token)`: the number of the last transition when this call made it (with `extra`), else false.
 */
export const TRANSITION_FUNCTIONS = `
local function transition(key, kind, token, ttl, extra)
  local seq = redis.call('HINCRBY', key, 'seq', 1)
  redis.call('HSET', key, 'last', kind .. '\\n' .. token .. '\\n' .. (extra or ''))
  if ttl then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
  return seq
end
local function recall(key, kind, token)
  local last = redis.call('HGET', key, 'last')
  local prefix = kind .. '\\n' .. token .. '\\n'
  if not last or string.sub(last, 1, #prefix) ~= prefix then return false end
  return tonumber(redis.call('HGET', key, 'seq')), string.sub(last, #prefix + 1)
end
`;

/** A token for one call that may decide a transition (see TRANSITION_FUNCTIONS). */
export function callToken(): string {
  return randomHex(8);
}

/**
 * Removes one member of a hash and, when it was the last, counts a transition (a user going offline, a channel
 * vacated). KEYS[1] the hash, KEYS[2] its transition counter. ARGV member, how long the counter outlives the empty
 * hash (ms), so the next transition's number keeps growing, call token. Returns false when the member was not there,
 * 0 when others remain, else the transition's number.
 */
const TAKE_MEMBER = new LuaScript(`${TRANSITION_FUNCTIONS}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return recall(KEYS[2], 'off', ARGV[3]) end
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
return transition(KEYS[2], 'off', ARGV[3], ARGV[2])
`);

/**
 * Adds one member to a hash and, when it is the first, counts a transition (a channel occupied). KEYS[1] the hash,
 * KEYS[2] its transition counter. ARGV member, value, call token. Returns the transition's number, or 0.
 */
const ADD_MEMBER = new LuaScript(`${TRANSITION_FUNCTIONS}
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return recall(KEYS[2], 'on', ARGV[3]) or 0 end
if redis.call('HLEN', KEYS[1]) > 1 then return 0 end
return transition(KEYS[2], 'on', ARGV[3], false)
`);

/**
 * Takes `member` out of the hash at `hashKey` in one atomic step on its server: undefined when it was not there,
 * null when other members remain, else the number of the transition its removal made.
 */
export async function takeMember(client: RedisClient, hashKey: string, counterKey: string, member: string, token = callToken()): Promise<{ seq: number } | null | undefined> {
  const reply = (await TAKE_MEMBER.run(client, [hashKey, counterKey], [member, TRANSITION_MEMORY_MS, token])) as number | null;
  if (reply === null) return undefined;
  return reply > 0 ? { seq: reply } : null;
}

/** Adds `member` (with `value`) to the hash at `hashKey` in one atomic step: the transition its addition made, if any. */
export async function addMember(client: RedisClient, hashKey: string, counterKey: string, member: string, value: string, token = callToken()): Promise<{ seq: number } | null> {
  const reply = (await ADD_MEMBER.run(client, [hashKey, counterKey], [member, value, token])) as number;
  return reply > 0 ? { seq: reply } : null;
}
