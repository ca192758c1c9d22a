/**
 * Presence: who is in a channel, as users with their session count. Join and leave follow multi-tab semantics:
 * `firstForUser` is true on a user's first session in the channel, `lastForUser` on the removal of the last one, so
 * `join`/`leave` events fire per user, not per session.
 *
 * Guarantee: join/leave for one (channel, session) are idempotent; `removeSessions` returns each removed membership once.
 */
export interface PresenceStore {
  join(channel: string, member: PresenceEntry): Promise<{ firstForUser: boolean }>;
  leave(channel: string, session: string): Promise<{ user: string; lastForUser: boolean } | null>;
  members(channel: string): Promise<Array<{ user: string; sessions: number }>>;
  /** Number of distinct users present. */
  count(channel: string): Promise<number>;
  /**
   * Removes every membership of the given sessions (a dead node's, a closed session's) and reports each removal,
   * so the caller can emit leave events.
   */
  removeSessions(sessions: string[]): Promise<Array<{ channel: string; user: string; session: string; lastForUser: boolean }>>;
  close(): Promise<void>;
}

export interface PresenceEntry {
  user: string;
  session: string;
  node: string;
}
