/**
 * Folder hub/: the node's local index of connections — sessions by id, by user and by channel — and nothing else. It
 * decides nothing: when to hold a channel on the broker, ordering, floors and fan-out belong to node/, which reads
 * these sets. It may import session/ (the Session type) and protocol/; never node/, channels/, the engine or codecs.
 */
import type { Session } from '../session/session.js';

/**
 * The node's local index: sessions by id, by user and by channel. A channel is listed while it has local subscribers.
 * Every method is synchronous and cheap; none has effects outside the index.
 */
export class Hub {
  private readonly byId = new Map<string, Session>();
  /** user -> sessions; an array, since most users hold one or two and a Set per user costs more heap. */
  private readonly users = new Map<string, Session[]>();
  private readonly channels = new Map<string, Set<Session>>();

  /** Sessions by id (read only: `addSession` and `removeSession` change it). */
  get sessions(): ReadonlyMap<string, Session> {
    return this.byId;
  }

  addSession(session: Session): void {
    this.byId.set(session.id, session);
    if (session.user !== null) {
      const sessions = this.users.get(session.user);
      if (sessions) sessions.push(session);
      else this.users.set(session.user, [session]);
    }
  }

  /** Takes the session out of the id and user indexes; its channel entries are removed with `removeSubscriber`. */
  removeSession(session: Session): void {
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    if (session.user !== null) {
      const sessions = this.users.get(session.user);
      const index = sessions?.indexOf(session) ?? -1;
      if (index !== -1) sessions!.splice(index, 1);
      if (sessions?.length === 0) this.users.delete(session.user);
    }
  }

  userSessions(user: string): readonly Session[] {
    return this.users.get(user) ?? EMPTY;
  }

  /** This node's sessions among `sessions` (ids), or all of `user`'s when no ids are given. */
  lookup(target: { sessions?: readonly string[] | null; user?: string | null }): Session[] {
    if (target.sessions) return target.sessions.map((id) => this.byId.get(id)).filter((session): session is Session => session !== undefined);
    return target.user ? [...this.userSessions(target.user)] : [];
  }

  get userCount(): number {
    return this.users.size;
  }

  /**
   * Lists `session` among the channel's local subscribers; returns the channel's subscriber set when this made the
   * channel appear on the node (its first local subscriber), null otherwise. The set stays the same object for as long
   * as the channel is listed, so a fan-out may hold on to it.
   */
  addSubscriber(channel: string, session: Session): ReadonlySet<Session> | null {
    const subscribers = this.channels.get(channel);
    if (subscribers) {
      subscribers.add(session);
      return null;
    }
    const created = new Set([session]);
    this.channels.set(channel, created);
    return created;
  }

  /** Unlists a local subscriber; true when it was the channel's last one (the channel is no longer listed). */
  removeSubscriber(channel: string, session: Session): boolean {
    const subscribers = this.channels.get(channel);
    if (!subscribers || !subscribers.delete(session)) return false;
    if (subscribers.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  /** Whether `session` is listed among the channel's local subscribers. */
  isSubscribed(channel: string, session: Session): boolean {
    return this.channels.get(channel)?.has(session) ?? false;
  }

  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  channelNames(): IterableIterator<string> {
    return this.channels.keys();
  }

  get channelCount(): number {
    return this.channels.size;
  }
}

const EMPTY: readonly Session[] = [];
