import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import type { PresenceEntry, PresenceStore } from './presence.js';

/** KEYS[1] channel members (session -> entry), KEYS[2] per-user session counts. ARGV session, entry JSON, user. */
const JOIN = new LuaScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
`);

/** Same keys; ARGV session. Returns {user, lastForUser 0|1} or false when the session was not present. */
const LEAVE = new LuaScript(`
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local user = cjson.decode(entry).user
local left = redis.call('HINCRBY', KEYS[2], user, -1)
if left <= 0 then redis.call('HDEL', KEYS[2], user) end
return { user, left <= 0 and 1 or 0 }
`);

/**
 * Presence in Redis: per channel a hash `{c:<channel>}:presence` (session -> entry) and `{c:<channel>}:presence-users`
 * (user -> session count), changed together by Lua scripts on the channel's shard, so first/last-for-user are decided
 * atomically; per session a set `{s:<session>}:presence` of its channels, so `removeSessions` finds them.
 */
export class RedisPresenceStore implements PresenceStore {
  constructor(private readonly keyspace: RedisKeyspace) {}

  private channelKeys(channel: string): [string, string] {
    const tag = RoutingTag.channel(channel);
    return [this.keyspace.key(tag, 'presence'), this.keyspace.key(tag, 'presence-users')];
  }
  private sessionKey(session: string) {
    return this.keyspace.key(RoutingTag.session(session), 'presence');
  }

  async join(channel: string, member: PresenceEntry): Promise<{ firstForUser: boolean }> {
    // Indexed first, so a crash between the two steps leaves a removable index entry rather than an unfindable member.
    await this.keyspace.client(RoutingTag.session(member.session)).sadd(this.sessionKey(member.session), channel);
    const count = (await JOIN.run(this.keyspace.client(RoutingTag.channel(channel)), this.channelKeys(channel), [
      member.session,
      JSON.stringify({ user: member.user, node: member.node }),
      member.user,
    ])) as number;
    return { firstForUser: count === 1 };
  }

  async leave(channel: string, session: string): Promise<{ user: string; lastForUser: boolean } | null> {
    const result = await this.remove(channel, session);
    await this.keyspace.client(RoutingTag.session(session)).srem(this.sessionKey(session), channel);
    return result;
  }

  private async remove(channel: string, session: string): Promise<{ user: string; lastForUser: boolean } | null> {
    const reply = (await LEAVE.run(this.keyspace.client(RoutingTag.channel(channel)), this.channelKeys(channel), [session])) as
      | [string, number]
      | null;
    return reply ? { user: reply[0], lastForUser: reply[1] === 1 } : null;
  }

  async members(channel: string): Promise<Array<{ user: string; sessions: number }>> {
    const counts = await this.keyspace.client(RoutingTag.channel(channel)).hgetall(this.channelKeys(channel)[1]);
    return Object.entries(counts)
      .map(([user, sessions]) => ({ user, sessions: Number(sessions) }))
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
