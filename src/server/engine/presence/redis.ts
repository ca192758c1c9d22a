import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import { callToken, TRANSITION_FUNCTIONS } from '../keyspace/transitions.js';
import { TRANSITION_MEMORY_MS } from '../transition-counter.js';
import type { PresenceEntry, PresenceLeave, PresenceMember, PresenceStore } from './presence.js';

/**
 * KEYS[1] channel members (session -> entry), KEYS[2] per-user session counts, KEYS[3] the channel's presence
 * transition counter, KEYS[4] per-user info. ARGV session, entry JSON, user, counter lifetime (ms), call token, info
 * JSON (empty: none). Returns the transition's number when this is the user's first session in the channel, else 0.
 */
const JOIN = new LuaScript(`${TRANSITION_FUNCTIONS}
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return recall(KEYS[3], 'on', ARGV[5]) or 0 end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], ARGV[3], ARGV[6]) end
if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) > 1 then return 0 end
return transition(KEYS[3], 'on', ARGV[5], ARGV[4])
`);

/**
 * Same keys; ARGV session, counter lifetime, call token. Returns {user, lastForUser 0|1, seq} or false when the session was not
 * present.
 */
const LEAVE = new LuaScript(`${TRANSITION_FUNCTIONS}
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then
  local seq, user = recall(KEYS[3], 'off', ARGV[3])
  if seq then return { user, 1, seq } end
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
local user = cjson.decode(entry).user
local left = redis.call('HINCRBY', KEYS[2], user, -1)
if left > 0 then return { user, 0, 0 } end
redis.call('HDEL', KEYS[2], user)
redis.call('HDEL', KEYS[4], user)
return { user, 1, transition(KEYS[3], 'off', ARGV[3], ARGV[2], user) }
`);

/**
 * Presence in Redis: per channel a hash `{c:<channel>}:presence` (session -> entry), `{c:<channel>}:presence-users`
 * (user -> session count), `{c:<channel>}:presence-info` (user -> info JSON, for members whose join carried one) and the transition counter `{c:<channel>}:presence-seq`, changed together by Lua scripts on
 * the channel's shard, so first/last-for-user (and their numbers) are decided atomically; per session a set `{s:<session>}:presence` of its channels, so `removeSessions` finds them.
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private channelKeys(channel: string): [string, string, string, string] {
    const tag = RoutingTag.channel(channel);
    return [
      this.keyspace.key(tag, 'presence'), this.keyspace.key(tag, 'presence-users'), this.keyspace.key(tag, 'presence-seq'),
      this.keyspace.key(tag, 'presence-info'),
    ];
  }
  private sessionKey(session: string) {
    return this.keyspace.key(RoutingTag.session(session), 'presence');
  }

  async join(channel: string, member: PresenceEntry): Promise<{ firstForUser: boolean; seq?: number }> {
    // Indexed first, so a crash between the two steps leaves a removable index entry rather than an unfindable member.
    await this.keyspace.client(RoutingTag.session(member.session)).sadd(this.sessionKey(member.session), channel);
    const seq = (await JOIN.run(this.keyspace.client(RoutingTag.channel(channel)), this.channelKeys(channel), [
      member.session,
      JSON.stringify({ user: member.user, node: member.node }),
      member.user,
      TRANSITION_MEMORY_MS,
      callToken(),
      member.info === undefined ? '' : JSON.stringify(member.info),
    ])) as number;
    return seq > 0 ? { firstForUser: true, seq } : { firstForUser: false };
  }

  async leave(channel: string, session: string): Promise<PresenceLeave | null> {
    const result = await this.remove(channel, session);
    await this.keyspace.client(RoutingTag.session(session)).srem(this.sessionKey(session), channel);
    return result;
  }

  private async remove(channel: string, session: string): Promise<PresenceLeave | null> {
    const reply = (await LEAVE.run(this.keyspace.client(RoutingTag.channel(channel)), this.channelKeys(channel), [session, TRANSITION_MEMORY_MS, callToken()])) as
      | [string, number, number]
      | null;
    if (!reply) return null;
    return reply[1] === 1 ? { user: reply[0], lastForUser: true, seq: reply[2] } : { user: reply[0], lastForUser: false };
  }

  async members(channel: string): Promise<PresenceMember[]> {
    const [, usersKey, , infoKey] = this.channelKeys(channel);
    const replies = await this.keyspace.client(RoutingTag.channel(channel)).pipeline().hgetall(usersKey).hgetall(infoKey).exec();
    const [counts, info] = (replies ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply as Record<string, string>;
    }) as [Record<string, string>, Record<string, string>];
    return Object.entries(counts)
      .map(([user, sessions]) => (Object.hasOwn(info, user)
        ? { user, sessions: Number(sessions), info: JSON.parse(info[user]!) as unknown }
        : { user, sessions: Number(sessions) }))
      .sort((a, b) => a.user.localeCompare(b.user));
  }

  async count(channel: string): Promise<number> {
    return this.keyspace.client(RoutingTag.channel(channel)).hlen(this.channelKeys(channel)[1]);
  }

  async removeSessions(sessions: string[]) {
    const perSession = await Promise.all(
      sessions.map(async (session) => {
        const client = this.keyspace.client(RoutingTag.session(session));
        const channels = await client.smembers(this.sessionKey(session));
        const removed = await Promise.all(channels.map(async (channel) => ({ channel, result: await this.remove(channel, session) })));
        await client.del(this.sessionKey(session));
        return removed.flatMap(({ channel, result }) => (result ? [{ channel, session, ...result }] : []));
      }),
    );
    return perSession.flat();
  }

  async close(): Promise<void> {}
}
