import { systemClock, type Clock } from '../../time/clock.js';
import { TransitionCounter } from '../transition-counter.js';
import type { AddSessionResult, NodeInfo, Registry, RemovedSession, SessionKey, SessionPolicy, SessionRecord, SessionRemoval, UserTransition } from './registry.js';

/** Shared state of memory registries, so several nodes in one process see one registry. */
export class MemoryRegistryState {
  readonly sessions = new Map<string, SessionRecord>();
  /** user -> sessions; arrays, since a user holds few and a Map per user costs more heap. */
  readonly users = new Map<string, SessionRecord[]>();
  readonly nodes = new Map<string, Set<string>>();
  readonly leases = new Map<string, { info: NodeInfo; expiresAt: number }>();
  /** Numbers each user's online/offline transitions. */
  readonly transitions = new TransitionCounter();
}

/** Node leases run out on `clock`. */
export class MemoryRegistry implements Registry {
  private readonly now: Clock;

  constructor(private readonly state: MemoryRegistryState = new MemoryRegistryState(), { clock = systemClock }: { clock?: Clock } = {}) {
    this.now = clock;
  }

  async start(): Promise<void> {}

  async addSession(record: SessionRecord, policy: SessionPolicy): Promise<AddSessionResult> {
    const kicked: SessionRecord[] = [];
    if (record.user !== null && policy.max > 0) {
      const existing = (this.state.users.get(record.user) ?? []).filter((other) => other.session !== record.session);
      const count = existing.length;
      if (count >= policy.max) {
        if (policy.onLimit === 'reject-new') return { accepted: false, reason: 'session-limit' };
        const oldestFirst = [...existing].sort((a, b) => a.connectedAt - b.connectedAt);
        for (const old of oldestFirst.slice(0, count - policy.max + 1)) {
          // Replaced, not gone: the user stays online through a kick.
          this.remove(old.session, false);
          kicked.push(old);
        }
      }
    }
    this.state.sessions.set(record.session, record);
    let online: UserTransition | null = null;
    if (record.user !== null) {
      const sessions = this.state.users.get(record.user);
      if (!sessions || sessions.length === 0) {
        this.state.users.set(record.user, [record]);
        if (!sessions) online = this.state.transitions.begin(record.user);
      } else {
        // Registering a session again (after an outage) replaces its record instead of adding a second one.
        const index = sessions.findIndex((other) => other.session === record.session);
        if (index === -1) sessions.push(record);
        else sessions[index] = record;
      }
    }
    let nodeSessions = this.state.nodes.get(record.node);
    if (!nodeSessions) this.state.nodes.set(record.node, (nodeSessions = new Set()));
    nodeSessions.add(record.session);
    return { accepted: true, kicked, online };
  }

  async removeSession(session: SessionKey): Promise<SessionRemoval | null> {
    const removed = this.remove(session.session);
    return removed && { offline: removed.offline };
  }

  /** `transitions` false: a kick, whose user gets a new session in the same step (the emptied list is kept for it). */
  private remove(sessionId: string, transitions = true): RemovedSession | null {
    const record = this.state.sessions.get(sessionId);
    if (!record) return null;
    this.state.sessions.delete(sessionId);
    let offline: UserTransition | null = null;
    if (record.user !== null) {
      const sessions = this.state.users.get(record.user);
      const index = sessions?.findIndex((other) => other.session === sessionId) ?? -1;
      if (index !== -1) sessions!.splice(index, 1);
      if (sessions?.length === 0 && transitions) {
        this.state.users.delete(record.user);
        offline = this.state.transitions.end(record.user);
      }
    }
    const nodeSessions = this.state.nodes.get(record.node);
    nodeSessions?.delete(sessionId);
    if (nodeSessions?.size === 0) this.state.nodes.delete(record.node);
    return { record, offline };
  }

  async getSession(sessionId: string): Promise<SessionRecord | null> {
    return this.state.sessions.get(sessionId) ?? null;
  }

  async getUserSessions(user: string): Promise<SessionRecord[]> {
    const sessions = this.state.users.get(user);
    return sessions ? [...sessions].sort((a, b) => a.connectedAt - b.connectedAt) : [];
  }

  async getNodeSessions(nodeId: string): Promise<SessionRecord[]> {
    const ids = this.state.nodes.get(nodeId);
    return ids ? [...ids].map((id) => this.state.sessions.get(id)!).filter(Boolean) : [];
  }

  async heartbeat(info: NodeInfo, leaseMs: number): Promise<void> {
    this.state.leases.set(info.node, { info, expiresAt: this.now() + leaseMs });
  }

  async liveNodes(): Promise<NodeInfo[]> {
    const now = this.now();
    return [...this.state.leases.values()].filter((lease) => lease.expiresAt > now).map((lease) => lease.info);
  }

  async deadNodes(): Promise<string[]> {
    const now = this.now();
    return [...this.state.nodes.keys()].filter((node) => (this.state.leases.get(node)?.expiresAt ?? 0) <= now);
  }

  async claimDeadNode(nodeId: string): Promise<RemovedSession[] | null> {
    const lease = this.state.leases.get(nodeId);
    if (lease && lease.expiresAt > this.now()) return null;
    if (!this.state.nodes.has(nodeId)) return null;
    const removed = this.removeAll(nodeId);
    this.state.leases.delete(nodeId);
    return removed;
  }

  async removeNode(nodeId: string): Promise<RemovedSession[]> {
    const removed = this.removeAll(nodeId);
    this.state.leases.delete(nodeId);
    return removed;
  }

  /** Oldest first, as the Redis registry returns them. */
  private removeAll(nodeId: string): RemovedSession[] {
    const records = [...(this.state.nodes.get(nodeId) ?? [])].map((id) => this.state.sessions.get(id)!).filter(Boolean);
    records.sort((a, b) => a.connectedAt - b.connectedAt || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
    this.state.nodes.delete(nodeId);
    return records.flatMap((record) => this.remove(record.session) ?? []);
  }

  async close(): Promise<void> {}
}
