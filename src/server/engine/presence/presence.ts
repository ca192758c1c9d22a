/**
 * Presence: who is in a channel, as users with their session count. Join and leave follow multi-tab semantics:
 * `firstForUser` is true on a user's first session in the channel, `lastForUser` on the removal of the last one, so
 * `join`/`leave` events fire per user, not per session. Each such membership transition gets `seq`, the next number
 * of the channel's sequence of presence transitions (all users together), decided in the same atomic step, so the
 * order of joins and leaves decided on different nodes can be told afterwards.
 *
 * A member may carry `info` (a Pusher presence member's `user_info`): kept per user while the user is present (the
 * latest join's), listed by `members`; members without it are listed without it.
 *
 * Guarantee: join/leave for one (channel, session) are idempotent; `removeSessions` returns each removed membership once.
 */
export interface PresenceStore {
  join(channel: string, member: PresenceEntry): Promise<{ firstForUser: boolean; seq?: number }>;
  leave(channel: string, session: string): Promise<PresenceLeave | null>;
  members(channel: string): Promise<PresenceMember[]>;
  /** Number of distinct users present. */
  count(channel: string): Promise<number>;
  /**
   * Removes every membership of the given sessions (a dead node's, a closed session's) and reports each removal,
   * so the caller can emit leave events.
   */
  removeSessions(sessions: string[]): Promise<Array<{ channel: string; session: string } & PresenceLeave>>;
  close(): Promise<void>;
}

/** A session's membership removed: `lastForUser` (with the transition's `seq`) when it was the user's last one. */
export interface PresenceLeave {
  user: string;
  lastForUser: boolean;
  seq?: number;
}

export interface PresenceEntry {
  user: string;
  session: string;
  node: string;
  /** What others are told about the member; JSON-serialisable. */
  info?: unknown;
}

/** A present user: the number of their sessions in the channel, and their info when a join carried one. */
export interface PresenceMember {
  user: string;
  sessions: number;
  info?: unknown;
}
