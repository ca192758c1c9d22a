import { LuaScript } from './lua-script.js';
import type { RedisClient } from './keyspace.js';
import { TRANSITION_MEMORY_MS } from '../transition-counter.js';

/**
 * Removes one member of a hash and, when it was the last, counts a transition (a user going offline, a channel
 * vacated). KEYS[1] the hash, KEYS[2] its transition counter. ARGV member, how long the counter outlives the empty
 * hash (ms), so the next transition's number keeps growing. Returns false when the member was not there, 0 when
 * others remain, else the transition's number.
 */
const TAKE_MEMBER = new LuaScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return false end
if redis.call('HLEN', KEYS[1]) > 0 then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return seq
`);

/**
 * Takes `member` out of the hash at `hashKey` in one atomic step on its server: undefined when it was not there,
 * null when other members remain, else the number of the transition its removal made.
 */
export async function takeMember(client: RedisClient, hashKey: string, counterKey: string, member: string): Promise<{ seq: number } | null | undefined> {
  const reply = (await TAKE_MEMBER.run(client, [hashKey, counterKey], [member, TRANSITION_MEMORY_MS])) as number | null;
  if (reply === null) return undefined;
  return reply > 0 ? { seq: reply } : null;
}
