import type { FoundRevocation, RevocationTarget } from '../revocations/revocations.js';

/**
 * Registry: who is connected where, across the cluster. Keeps `user -> {session -> node}`, the inverted index
 * `node -> sessions`, and node leases.
 *
 * Guarantee: `addSession` decides the user's session policy atomically — two nodes adding sessions for the same user
 * at the same instant see one consistent order, so `max` holds across the cluster. The same atomic step decides the
 * user's cluster-wide transitions: exactly one add reports `online` (the user's first session) and exactly one removal
 * — by `removeSession`, `claimDeadNode` or `removeNode`, whichever takes the last session — reports `offline`, each with
 * the user's transition number `seq` (it grows by one per transition, so online is odd and offline even; it may start
 * over once the user has stayed offline for a while).
 */
export interface Registry {
  start(nodeId: string): Promise<void>;
  /**
   * Registers a session, applying the user's policy. Anonymous sessions (user null) skip the policy.
   * With `kick-oldest`, the returned `kicked` sessions were removed from the registry and must be closed by their nodes.
   * `revocations`: where the store can read them in the same atomic step (a Redis registry whose keys for this session
   * all live on one server), an accepted result's `revoked` is the first of them in force at that step, or null;
   * elsewhere `revoked` is absent and the caller reads them itself.
   */
  addSession(session: SessionRecord, policy: SessionPolicy, revocations?: readonly RevocationTarget[]): Promise<AddSessionResult>;
  /**
   * Removes a session. Returns null when it was not registered (already removed, for example by a kick). Tried again
   * after a failure that left the outcome unknown (a store whose reply was lost), it answers the transition the first
   * try made, as long as the user has had no transition since — so the caller retries only a removal that failed,
   * never one that answered. An answered removal keeps its answer even when the store's index cleanup behind it fails.
   */
  removeSession(session: SessionKey): Promise<SessionRemoval | null>;
  /** The session, wherever it lives. */
  getSession(sessionId: string): Promise<SessionRecord | null>;
  /** Every session of the user, on every node, oldest first. */
  getUserSessions(user: string): Promise<SessionRecord[]>;
  /** Every session on the node. */
  getNodeSessions(nodeId: string): Promise<SessionRecord[]>;

  /** Renews this node's lease; a node whose lease lapses is considered dead. */
  heartbeat(info: NodeInfo, leaseMs: number): Promise<void>;
  /** Nodes whose lease is alive. */
  liveNodes(): Promise<NodeInfo[]>;
  /** Nodes that still own sessions but whose lease expired. */
  deadNodes(): Promise<string[]>;
  /**
   * Claims the cleanup of a dead node: exactly one caller across the cluster gets the node's sessions back (and must
   * emit their leave events); every other caller gets null.
   */
  claimDeadNode(nodeId: string): Promise<RemovedSession[] | null>;
  /** Removes this node's lease and sessions (graceful shutdown); returns the sessions it removed. */
  removeNode(nodeId: string): Promise<RemovedSession[]>;
  close(): Promise<void>;
}

export interface SessionRecord {
  session: string;
  /** Null for anonymous sessions. */
  user: string | null;
  node: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  client: ClientInfo;
  /**
   * Sessions on a streaming transport: the SHA-256 (hex) of the secret their `POST /emulation` requests show, so the
   * node a POST lands on can refuse a wrong secret before forwarding it to the session's node.
   */
  emulation?: string;
}

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
  origin?: string;
}

export interface SessionPolicy {
  /** Maximum concurrent sessions per user across the cluster; 0 = unlimited. */
  max: number;
  onLimit: 'kick-oldest' | 'reject-new';
}

export type AddSessionResult =
  | { accepted: true; kicked: SessionRecord[]; online: UserTransition | null; revoked?: FoundRevocation | null }
  | { accepted: false; reason: 'session-limit' };

/** A user's cluster-wide transition (online or offline) and its number in the user's sequence of transitions. */
export interface UserTransition {
  seq: number;
}

/** What names a session in the registry. */
export type SessionKey = Pick<SessionRecord, 'session' | 'user' | 'node'>;

/** A removal; `offline` is set when it was the user's last session anywhere. */
export interface SessionRemoval {
  offline: UserTransition | null;
}

/** A session taken out of the registry; `offline` is set when it was the user's last session anywhere. */
export interface RemovedSession {
  record: SessionRecord;
  offline: UserTransition | null;
}

export interface NodeInfo {
  node: string;
  /** Epoch milliseconds when the node started. */
  startedAt: number;
  host?: string;
  /** What the node reported with its latest lease renewal (absent when `cluster.stats` is off). */
  stats?: NodeStats;
}

/** A node's figures, sampled at each lease renewal; rates are per second since the previous renewal. */
export interface NodeStats {
  /** Epoch milliseconds of the sample (the lease's age is measured from it). */
  at: number;
  version: string;
  draining: boolean;
  sessions: number;
  users: number;
  channels: number;
  subscriptions: number;
  deliveriesPerSecond: number;
  publicationsPerSecond: number;
  /** Refused handshakes, bad frames, rate-limited requests and slow-consumer evictions per second. */
  errorsPerSecond: number;
  /** Event-loop delay since the previous sample, milliseconds (mean and max). */
  eventLoopLagMs: { mean: number; max: number };
  rssBytes: number;
  /** True when the node holds more channels than its index may list (`cluster.maxIndexedChannels`). */
  channelsTruncated: boolean;
}
