import { LuaScript } from '../keyspace/lua-script.js';
import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { RoutingTag } from '../keyspace/tags.js';
import { FollowUpWrites } from '../keyspace/follow-up-writes.js';
import { callToken, takeMember, TRANSITION_FUNCTIONS } from '../keyspace/transitions.js';
import { firstInForce, locateRevocation } from '../revocations/redis.js';
import type { RevocationTarget } from '../revocations/revocations.js';
import type { AddSessionResult, NodeInfo, Registry, RemovedSession, SessionKey, SessionPolicy, SessionRecord, SessionRemoval, UserTransition } from './registry.js';

/**
 * The user's session policy, decided and applied in one step on the user's shard (slot): the script of `addSession`.
 * KEYS[1] user hash (session -> record JSON), KEYS[2] the user's transition counter (see keyspace/transitions.ts).
 * ARGV: session, record JSON, max, onLimit, call token. Returns {0} when refused, else {1, online seq (0: the user was
 * online already), kicked record JSON...} oldest first. `accepted` is Lua run wherever the session is accepted, after
 * it is in the user hash: nothing for `ADD_SESSION`, the index writes for `REGISTER`.
 */
const policyScript = (accepted: string, revocationsFrom: number) => new LuaScript(`${TRANSITION_FUNCTIONS}
local function accept()
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  ${accepted}
end
local revocations = {}
for i = ${revocationsFrom}, #KEYS do revocations[#revocations + 1] = redis.call('GET', KEYS[i]) end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  accept()
  return {1, recall(KEYS[2], 'on', ARGV[5]) or 0, unpack(revocations)}
end
local max = tonumber(ARGV[3])
local count = redis.call('HLEN', KEYS[1])
if max > 0 and count >= max then
  if ARGV[4] == 'reject-new' then return {0} end
  local all = redis.call('HGETALL', KEYS[1])
  local existing = {}
  for i = 1, #all, 2 do
    existing[#existing + 1] = { all[i], all[i + 1], tonumber(cjson.decode(all[i + 1]).connectedAt) or 0 }
  end
  table.sort(existing, function(a, b)
    if a[3] == b[3] then return a[1] < b[1] end
    return a[3] < b[3]
  end)
  local result = {1, 0, unpack(revocations)}
  for i = 1, count - max + 1 do
    redis.call('HDEL', KEYS[1], existing[i][1])
    result[#result + 1] = existing[i][2]
  end
  accept()
  return result
end
accept()
if count > 0 then return {1, 0, unpack(revocations)} end
return {1, transition(KEYS[2], 'on', ARGV[5], false), unpack(revocations)}
`);

/** The policy alone: the session's index entries, on other shards, are written before it (see `RedisRegistry`). */
const ADD_SESSION = policyScript('', 3);

/**
 * The policy and the index entries together, for a session whose keys all live on the user's server (one Redis): one
 * round trip instead of two, and a refused session leaves nothing to remove. KEYS[3] session lookup key, KEYS[4] the
 * node's index, KEYS[5] the node directory, KEYS[6...] the revocation keys of the session's credential (their values
 * follow the online seq in the reply, false where absent: read in the step that registers the session, so a revocation
 * is either seen here or written after the session is in the registry); ARGV[6] the node id.
 */
const REGISTER = policyScript(`redis.call('SET', KEYS[3], ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[5], ARGV[6])`, 6);

/**
 * Takes a dead node's sessions: only while its lease is absent, and only once (the index is deleted in the same step).
 * KEYS[1] lease, KEYS[2] node index (session -> record JSON). Returns the records, or false.
 */
const CLAIM_NODE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local records = redis.call('HVALS', KEYS[2])
if #records == 0 then return false end
redis.call('DEL', KEYS[2])
return records
`);

/**
 * Call tokens of session removals (see keyspace/transitions.ts). One per session and remover, the same on every try:
 * a removal tried again after a failure that left the store's answer unknown (a lost reply, or a purge cut short)
 * answers the offline transition it made the first time. The session's node and a purge of it have different tokens,
 * so one is never told of the other's transition.
 */
const ownRemoval = (session: string) => `own:${session}`;
/** A dead node's purge by the node that claimed it (claims are exclusive, so only its own retries share this). */
const purgeRemoval = (session: string) => `purge:${session}`;
/** A node removing its own sessions (drain, leftovers of a previous run), which a claim of it may race. */
const nodeRemoval = (session: string) => `node:${session}`;

/** Tries of a dead node's purge (with backoff) before its unpurged sessions go back to its index for a later sweep. */
const PURGE_TRIES = 5;

/**
 * Registry in Redis. Keys (see docs/engines.md): `{u:<user>}:sessions` hash session -> record, `{s:<session>}:session`
 * record, `{n:<node>}:sessions` hash session -> record (the inverted index), `{n:<node>}:lease` (PX expiry) and the
 * `{nodes}:directory` set of known node ids.
 *
 * Atomicity: the policy decision is one Lua script on the user's shard, so `max` holds cluster-wide. Where the session
 * and node-index keys live on the same server (one Redis), the same script writes them. Elsewhere (other shards, a
 * cluster's other slots) they are written before the decision (and removed on refusal), so a session a
 * user hash lists always has its index entries; they are removed after the decision, and a removal whose index cleanup
 * fails still answers its transition (the cleanup is retried on its own; a stale index entry is skipped, the user hash
 * no longer lists it). Claims of a dead node are one Lua script on the node's shard.
 */
export class RedisRegistry implements Registry {
  private readonly followUps = new FollowUpWrites();

  constructor(private readonly keyspace: RedisKeyspace) {}

  async start(): Promise<void> {
    await this.keyspace.connect();
  }

  private userKey(user: string) {
    return this.keyspace.key(RoutingTag.user(user), 'sessions');
  }
  private transitionsKey(user: string) {
    return this.keyspace.key(RoutingTag.user(user), 'transitions');
  }
  private sessionKey(session: string) {
    return this.keyspace.key(RoutingTag.session(session), 'session');
  }
  private nodeIndexKey(node: string) {
    return this.keyspace.key(RoutingTag.node(node), 'sessions');
  }
  private leaseKey(node: string) {
    return this.keyspace.key(RoutingTag.node(node), 'lease');
  }
  private directoryKey() {
    return this.keyspace.key(RoutingTag.nodeDirectory(), 'directory');
  }

  private async index(record: SessionRecord, json: string): Promise<void> {
    const { keyspace } = this;
    await Promise.all([
      keyspace.client(RoutingTag.session(record.session)).set(this.sessionKey(record.session), json),
      keyspace.client(RoutingTag.node(record.node)).hset(this.nodeIndexKey(record.node), record.session, json),
      keyspace.client(RoutingTag.nodeDirectory()).sadd(this.directoryKey(), record.node),
    ]);
  }

  /** Removes the session's lookup and index entries (not the user hash entry). */
  private async unindex(record: SessionKey): Promise<number> {
    const [deleted] = await Promise.all([
      this.keyspace.client(RoutingTag.session(record.session)).del(this.sessionKey(record.session)),
      this.keyspace.client(RoutingTag.node(record.node)).hdel(this.nodeIndexKey(record.node), record.session),
    ]);
    return deleted;
  }

  async addSession(record: SessionRecord, policy: SessionPolicy, revocations: readonly RevocationTarget[] = []): Promise<AddSessionResult> {
    const json = JSON.stringify(record);
    const user = record.user;
    if (user === null) {
      await this.index(record, json);
      return { accepted: true, kicked: [], online: null };
    }
    const userTag = RoutingTag.user(user);
    const keys = [this.userKey(user), this.transitionsKey(user)];
    const args: Array<string | number> = [record.session, json, Math.max(0, Math.floor(policy.max)), policy.onLimit, callToken()];
    const located = revocations.map((target) => locateRevocation(this.keyspace, target));
    const together = this.keyspace.sameServer([
      userTag, RoutingTag.session(record.session), RoutingTag.node(record.node), RoutingTag.nodeDirectory(), ...located.map(([tag]) => tag),
    ]);
    // {accepted, online seq, revocation values..., kicked record JSON...}; {0} when refused.
    let reply: [number, number?, ...Array<string | null>];
    if (together) {
      keys.push(this.sessionKey(record.session), this.nodeIndexKey(record.node), this.directoryKey(), ...located.map(([, key]) => key));
      reply = (await REGISTER.run(this.keyspace.client(userTag), keys, [...args, record.node])) as typeof reply;
      if (reply[0] === 0) return { accepted: false, reason: 'session-limit' };
      const values = reply.slice(2) as Array<string | null>;
      const kicked = await this.unindexKicked(values.slice(revocations.length));
      const online = onlineOf(reply);
      if (revocations.length === 0) return { accepted: true, kicked, online };
      return { accepted: true, kicked, online, revoked: firstInForce(revocations, values.slice(0, revocations.length)) };
    } else {
      await this.index(record, json);
      reply = (await ADD_SESSION.run(this.keyspace.client(userTag), keys, args)) as typeof reply;
      if (reply[0] === 0) {
        await this.unindex(record);
        return { accepted: false, reason: 'session-limit' };
      }
    }
    return { accepted: true, kicked: await this.unindexKicked(reply.slice(2) as string[]), online: onlineOf(reply) };
  }

  /** The sessions the policy kicked (record JSON from the script), their index entries removed. */
  private async unindexKicked(entries: ReadonlyArray<string | null>): Promise<SessionRecord[]> {
    const kicked = entries.map((entry) => JSON.parse(entry!) as SessionRecord);
    await Promise.all(kicked.map((old) => this.unindex(old)));
    return kicked;
  }

  async removeSession(session: SessionKey): Promise<SessionRemoval | null> {
    // An anonymous session's lookup key is all there is to decide by.
    if (session.user === null) return (await this.unindex(session)) === 1 ? { offline: null } : null;
    // For a user's session the user hash decides (a kick may have removed it first); the index follows the decision,
    // so a node dying in between leaves an index entry a purge skips, never a listed session no purge can find.
    const fromUser = await this.removeFromUser(session, ownRemoval(session.session));
    await this.followUps.run(() => this.unindex(session));
    return fromUser === undefined ? null : { offline: fromUser };
  }

  /** Takes the session out of its user's hash: undefined when it was not there, else the offline transition if last. */
  private async removeFromUser(record: SessionKey, token: string): Promise<UserTransition | null | undefined> {
    if (record.user === null) return null;
    return takeMember(this.keyspace.client(RoutingTag.user(record.user)), this.userKey(record.user), this.transitionsKey(record.user), record.session, token);
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    const json = await this.keyspace.client(RoutingTag.session(sessionId)).get(this.sessionKey(sessionId));
    return json ? (JSON.parse(json) as SessionRecord) : null;
  }

  async getUserSessions(user: string): Promise<SessionRecord[]> {
    const values = await this.keyspace.client(RoutingTag.user(user)).hvals(this.userKey(user));
    return values.map((json) => JSON.parse(json) as SessionRecord).sort(oldestFirst);
  }

  async getNodeSessions(nodeId: string): Promise<SessionRecord[]> {
    const values = await this.keyspace.client(RoutingTag.node(nodeId)).hvals(this.nodeIndexKey(nodeId));
    return values.map((json) => JSON.parse(json) as SessionRecord).sort(oldestFirst);
  }

  async heartbeat(info: NodeInfo, leaseMs: number): Promise<void> {
    await Promise.all([
      this.keyspace.client(RoutingTag.node(info.node)).set(this.leaseKey(info.node), JSON.stringify(info), 'PX', Math.max(1, Math.round(leaseMs))),
      // Re-added on every heartbeat, so a directory entry swept by a racing `deadNodes` comes back within one period.
      this.keyspace.client(RoutingTag.nodeDirectory()).sadd(this.directoryKey(), info.node),
    ]);
  }

  private async knownNodes(): Promise<string[]> {
    return this.keyspace.client(RoutingTag.nodeDirectory()).smembers(this.directoryKey());
  }

  async liveNodes(): Promise<NodeInfo[]> {
    const nodes = await this.knownNodes();
    const leases = await Promise.all(nodes.map((node) => this.keyspace.client(RoutingTag.node(node)).get(this.leaseKey(node))));
    return leases.flatMap((lease) => (lease ? [JSON.parse(lease) as NodeInfo] : [])).sort((a, b) => a.node.localeCompare(b.node));
  }

  async deadNodes(): Promise<string[]> {
    const nodes = await this.knownNodes();
    const states = await Promise.all(
      nodes.map(async (node) => {
        const client = this.keyspace.client(RoutingTag.node(node));
        const [lease, index] = await Promise.all([client.exists(this.leaseKey(node)), client.exists(this.nodeIndexKey(node))]);
        return { node, lease: lease === 1, sessions: index === 1 };
      }),
    );
    // Forget nodes with neither a lease nor sessions, so the directory does not grow with every restart.
    const forgotten = states.filter((state) => !state.lease && !state.sessions).map((state) => state.node);
    if (forgotten.length > 0) await this.keyspace.client(RoutingTag.nodeDirectory()).srem(this.directoryKey(), ...forgotten);
    return states.filter((state) => !state.lease && state.sessions).map((state) => state.node).sort();
  }

  async claimDeadNode(nodeId: string): Promise<RemovedSession[] | null> {
    const client = this.keyspace.client(RoutingTag.node(nodeId));
    const reply = (await CLAIM_NODE.run(client, [this.leaseKey(nodeId), this.nodeIndexKey(nodeId)], [])) as string[] | null;
    if (!reply) return null;
    const records = reply.map((json) => JSON.parse(json) as SessionRecord).sort(oldestFirst);
    // The claim took the index: from here this caller alone knows these sessions, so the purge is tried again rather
    // than given up, and what still fails goes back to the index, where a later sweep claims it again.
    const { removed, failed } = await this.purgeAll(records, purgeRemoval);
    let unpurged = failed;
    for (let attempt = 1; unpurged.length > 0 && attempt < PURGE_TRIES; attempt++) {
      await delay(100 * 2 ** attempt);
      const again = await this.purgeAll(unpurged, purgeRemoval);
      removed.push(...again.removed);
      unpurged = again.failed;
    }
    if (unpurged.length > 0) {
      const back = unpurged.flatMap((record) => [record.session, JSON.stringify(record)]);
      await this.followUps.run(() => client.hset(this.nodeIndexKey(nodeId), ...back));
    } else await this.followUps.run(() => this.keyspace.client(RoutingTag.nodeDirectory()).srem(this.directoryKey(), nodeId));
    return removed;
  }

  /**
   * Removes sessions from their user hashes, then their lookup keys (the node index is handled by the caller), with
   * the remover's call tokens, so a session tried again answers the transition its first try made. A session a kick or
   * its own cleanup removed first is left out; `failed` are those whose user hash could not be reached.
   */
  private async purgeAll(records: SessionRecord[], token: (session: string) => string): Promise<{ removed: RemovedSession[]; failed: SessionRecord[] }> {
    const removed: RemovedSession[] = [];
    const failed: SessionRecord[] = [];
    const results = await Promise.allSettled(records.map(async (record) => {
      const fromUser = await this.removeFromUser(record, token(record.session));
      await this.followUps.run(() => this.keyspace.client(RoutingTag.session(record.session)).del(this.sessionKey(record.session)));
      return fromUser;
    }));
    results.forEach((result, index) => {
      const record = records[index]!;
      if (result.status === 'rejected') failed.push(record);
      else if (result.value !== undefined) removed.push({ record, offline: result.value });
    });
    return { removed, failed };
  }

  async removeNode(nodeId: string): Promise<RemovedSession[]> {
    const client = this.keyspace.client(RoutingTag.node(nodeId));
    const records = await this.getNodeSessions(nodeId);
    const { removed, failed } = await this.purgeAll(records, nodeRemoval);
    if (failed.length > 0) {
      // What could not be removed stays indexed under a lapsing lease: the other nodes' sweep purges it.
      const left = new Set(failed.map((record) => record.session));
      const done = records.filter((record) => !left.has(record.session)).map((record) => record.session);
      if (done.length > 0) await client.hdel(this.nodeIndexKey(nodeId), ...done);
      await client.del(this.leaseKey(nodeId));
      return removed;
    }
    await Promise.all([client.del(this.nodeIndexKey(nodeId)), client.del(this.leaseKey(nodeId))]);
    await this.keyspace.client(RoutingTag.nodeDirectory()).srem(this.directoryKey(), nodeId);
    return removed;
  }

  /** Connections belong to the engine (shared by every store), so there is nothing to close here. */
  async close(): Promise<void> {}
}

function oldestFirst(a: SessionRecord, b: SessionRecord): number {
  return a.connectedAt - b.connectedAt || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The online transition a registration script answered (its seq, 0 when the user was online already). */
function onlineOf(reply: readonly unknown[]): UserTransition | null {
  const seq = Number(reply[1] ?? 0);
  return seq > 0 ? { seq } : null;
}
