import type { AddSessionResult, NodeInfo, Registry, SessionPolicy, SessionRecord } from './registry.js';

/** Shared state of memory registries, so several nodes in one process see one registry. */
export class MemoryRegistryState {
  readonly sessions = new Map<string, SessionRecord>();
  /** user -> sessions; arrays, since a user holds few and a Map per user costs more heap. */
  readonly users = new Map<string, SessionRecord[]>();
  readonly nodes = new Map<string, Set<string>>();
  readonly leases = new Map<string, { info: NodeInfo; expiresAt: number }>();
}

export class MemoryRegistry implements Registry {
  constructor(private readonly state: MemoryRegistryState = new MemoryRegistryState()) {}

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
          this.remove(old.session);
          kicked.push(old);
        }
      }
    }
    this.state.sessions.set(record.session, record);
    if (record.user !== null) {
      const sessions = this.state.users.get(record.user);
      if (!sessions) this.state.users.set(record.user, [record]);
      else {
        // Registering a session again (after an outage) replaces its record instead of adding a second one.
        const index = sessions.findIndex((other) => other.session === record.session);
        if (index === -1) sessions.push(record);
        else sessions[index] = record;
      }
    }
    let nodeSessions = this.state.nodes.get(record.node);
    if (!nodeSessions) this.state.nodes.set(record.node, (nodeSessions = new Set()));
    nodeSessions.add(record.session);
    return { accepted: true, kicked };
  }

  async removeSession(sessionId: string): Promise<boolean> {
    return this.remove(sessionId);
  }

  private remove(sessionId: string): boolean {
    const record = this.state.sessions.get(sessionId);
    if (!record) return false;
    this.state.sessions.delete(sessionId);
    if (record.user !== null) {
      const sessions = this.state.users.get(record.user);
      const index = sessions?.findIndex((other) => other.session === sessionId) ?? -1;
      if (index !== -1) sessions!.splice(index, 1);
      if (sessions?.length === 0) this.state.users.delete(record.user);
    }
    const nodeSessions = this.state.nodes.get(record.node);
    nodeSessions?.delete(sessionId);
    if (nodeSessions?.size === 0) this.state.nodes.delete(record.node);
    return true;
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
    this.state.leases.set(info.node, { info, expiresAt: Date.now() + leaseMs });
  }

  async liveNodes(): Promise<NodeInfo[]> {
    const now = Date.now();
    return [...this.state.leases.values()].filter((lease) => lease.expiresAt > now).map((lease) => lease.info);
  }

  async deadNodes(): Promise<string[]> {
    const now = Date.now();
    return [...this.state.nodes.keys()].filter((node) => (this.state.leases.get(node)?.expiresAt ?? 0) <= now);
  }

  async claimDeadNode(nodeId: string): Promise<SessionRecord[] | null> {
    const lease = this.state.leases.get(nodeId);
    if (lease && lease.expiresAt > Date.now()) return null;
    const ids = this.state.nodes.get(nodeId);
    if (!ids) return null;
    const records = [...ids].map((id) => this.state.sessions.get(id)!).filter(Boolean);
    for (const record of records) this.remove(record.session);
    this.state.nodes.delete(nodeId);
    this.state.leases.delete(nodeId);
    return records;
  }

  async removeNode(nodeId: string): Promise<void> {
    for (const id of [...(this.state.nodes.get(nodeId) ?? [])]) this.remove(id);
    this.state.leases.delete(nodeId);
  }

  async close(): Promise<void> {}
}
