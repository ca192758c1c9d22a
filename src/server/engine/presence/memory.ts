import { TransitionCounter } from '../transition-counter.js';
import type { PresenceEntry, PresenceLeave, PresenceMember, PresenceStore } from './presence.js';

interface ChannelPresence {
  /** session -> entry */
  sessions: Map<string, PresenceEntry>;
  /** user -> session count */
  users: Map<string, number>;
  /** user -> info, for users whose join carried one */
  info: Map<string, unknown>;
}

export class MemoryPresenceState {
  readonly channels = new Map<string, ChannelPresence>();
  /** session -> channels it is present in, for removal by session. */
  readonly bySession = new Map<string, Set<string>>();
  /** Numbers each channel's presence transitions. */
  readonly transitions = new TransitionCounter();
}

export class MemoryPresenceStore implements PresenceStore {
  constructor(private readonly state: MemoryPresenceState = new MemoryPresenceState()) {}

  async join(channel: string, member: PresenceEntry): Promise<{ firstForUser: boolean; seq?: number }> {
    let presence = this.state.channels.get(channel);
    if (!presence) this.state.channels.set(channel, (presence = { sessions: new Map(), users: new Map(), info: new Map() }));
    if (presence.sessions.has(member.session)) return { firstForUser: false };
    presence.sessions.set(member.session, member);
    if (member.info !== undefined) presence.info.set(member.user, member.info);
    const count = presence.users.get(member.user) ?? 0;
    presence.users.set(member.user, count + 1);
    let channels = this.state.bySession.get(member.session);
    if (!channels) this.state.bySession.set(member.session, (channels = new Set()));
    channels.add(channel);
    return count === 0 ? { firstForUser: true, ...this.state.transitions.begin(channel) } : { firstForUser: false };
  }

  async leave(channel: string, session: string): Promise<PresenceLeave | null> {
    return this.remove(channel, session);
  }

  private remove(channel: string, session: string): PresenceLeave | null {
    const presence = this.state.channels.get(channel);
    const entry = presence?.sessions.get(session);
    if (!presence || !entry) return null;
    presence.sessions.delete(session);
    const count = (presence.users.get(entry.user) ?? 1) - 1;
    if (count <= 0) {
      presence.users.delete(entry.user);
      presence.info.delete(entry.user);
    }
    else presence.users.set(entry.user, count);
    const empty = presence.sessions.size === 0;
    if (empty) this.state.channels.delete(channel);
    const channels = this.state.bySession.get(session);
    channels?.delete(channel);
    if (channels?.size === 0) this.state.bySession.delete(session);
    if (count > 0) return { user: entry.user, lastForUser: false };
    const { seq } = empty ? this.state.transitions.end(channel) : this.state.transitions.begin(channel);
    return { user: entry.user, lastForUser: true, seq };
  }

  async members(channel: string): Promise<PresenceMember[]> {
    const presence = this.state.channels.get(channel);
    if (!presence) return [];
    return [...presence.users]
      .map(([user, sessions]) => (presence.info.has(user) ? { user, sessions, info: presence.info.get(user) } : { user, sessions }))
      .sort((a, b) => a.user.localeCompare(b.user));
  }

  async count(channel: string): Promise<number> {
    return this.state.channels.get(channel)?.users.size ?? 0;
  }

  async removeSessions(sessions: string[]) {
    const removed: Array<{ channel: string; session: string } & PresenceLeave> = [];
    for (const session of sessions) {
      for (const channel of [...(this.state.bySession.get(session) ?? [])]) {
        const result = this.remove(channel, session);
        if (result) removed.push({ channel, session, ...result });
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}
