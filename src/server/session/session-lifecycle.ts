import { CloseCode, closeCodeName } from '../../protocol/close-codes.js';
import type { WelcomeFrame } from '../../protocol/frames.js';
import { sessionPolicyFor } from '../auth/identity.js';
import type { ChannelService } from '../channels/channel-service.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { SessionRecord } from '../engine/registry/registry.js';
import type { DeliveryService, DisconnectOrder } from '../hub/delivery.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LifecycleEvents, SessionFacts } from '../webhooks/lifecycle-events.js';
import type { Session } from './session.js';

/** Sessions re-registered at once after a store outage; bounds the burst of commands. */
const REASSERT_BATCH = 100;

/** Close codes by which the gateway ends a session for its behaviour or by policy: reported as `session.evicted`. */
const EVICTIONS: ReadonlyMap<number, string> = new Map([
  [CloseCode.SLOW_CONSUMER, 'slow-consumer'],
  [CloseCode.RATE_LIMITED, 'rate-limit'],
  [CloseCode.KICKED, 'policy-kick'],
  [CloseCode.PROTOCOL_ERROR, 'protocol-error'],
  [CloseCode.MESSAGE_TOO_BIG, 'message-too-big'],
]);

/**
 * A session's life on the node: registration under the user's session policy (kicking or refusing), the welcome,
 * credential expiry, and one cleanup however it ends (client close, eviction, kick, ping timeout, drain). It reports
 * the session's lifecycle events, and the user's online/offline transitions the registry decided.
 */
export class SessionLifecycle {
  /** Sessions that ended while the store was away: their registry entry is removed once it is back. */
  private readonly unremoved = new Map<string, SessionFacts>();

  constructor(
    private readonly config: Readonly<Config>,
    private readonly nodeId: string,
    private readonly engine: Engine,
    private readonly hub: Hub,
    private readonly channels: ChannelService,
    private readonly delivery: DeliveryService,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly events: LifecycleEvents,
  ) {}

  /** Registers a freshly opened session; false when the policy refused it (it is then being closed). */
  async open(session: Session): Promise<boolean> {
    this.hub.addSession(session);
    this.metrics.sessions.set(this.hub.sessions.size);
    const policy = sessionPolicyFor(session.identity, this.config.sessions);
    const result = await this.engine.registry.addSession(this.recordOf(session), policy);
    if (!result.accepted) {
      this.disconnect(session, { code: CloseCode.SESSION_LIMIT, reason: 'the user already holds the maximum number of sessions', reconnect: false });
      return false;
    }
    session.registered = true;
    const facts = factsOf(session);
    if (result.online) this.events.userOnline(session.user!, session.id, result.online.seq);
    this.events.sessionConnected(facts);
    // The sessions this one displaced are gone from the registry: they must be closed even when this session is itself
    // already ending (kicked in turn by a newer one, or the client left), or they would live on unregistered.
    const kicks = result.kicked.length > 0
      ? this.delivery.disconnectSessions(result.kicked, { code: CloseCode.KICKED, reason: 'replaced by a newer session of the same user', reconnect: false })
      : Promise.resolve();
    if (session.closing) {
      await Promise.all([kicks, this.cleanup(session)]);
      return false;
    }
    this.metrics.connections.inc({ auth: session.identity.method });
    const welcome: WelcomeFrame = {
      type: 'welcome', session: session.id, user: session.user, node: this.nodeId, protocol: session.protocol,
      pingInterval: this.config.ws.pingIntervalMs,
    };
    session.send(welcome);
    this.scheduleExpiry(session);
    await kicks;
    return true;
  }

  private recordOf(session: Session): SessionRecord {
    return { session: session.id, user: session.user, node: this.nodeId, connectedAt: session.connectedAt, client: session.client };
  }

  /**
   * After the shared store came back — possibly empty, as a Redis without persistence does — registers this node's
   * live sessions and their presence again, so other nodes can reach them. Idempotent; no policy is applied to
   * sessions that are already open, and no join is announced (nobody saw them leave).
   */
  async reassertAll(): Promise<number> {
    await this.removeUnremoved();
    const sessions = [...this.hub.sessions.values()].filter((session) => session.registered && !session.closing);
    for (let i = 0; i < sessions.length; i += REASSERT_BATCH) {
      await Promise.all(sessions.slice(i, i + REASSERT_BATCH).map((session) => this.reassert(session)));
    }
    return sessions.length;
  }

  private async reassert(session: Session): Promise<void> {
    await this.engine.registry.addSession(this.recordOf(session), { max: 0, onLimit: 'kick-oldest' });
    if (session.user === null) return;
    for (const [channel, state] of session.subscriptions) {
      if (this.config.namespaces[state.namespace]?.presence) {
        await this.engine.presence.join(channel, { user: session.user, session: session.id, node: this.nodeId });
      }
    }
  }

  private scheduleExpiry(session: Session): void {
    const expiresAt = session.identity.expiresAt;
    if (expiresAt === undefined) return;
    // setTimeout cannot wait longer than ~24.8 days; credentials living longer are rechecked then.
    const delay = Math.min(Math.max(0, expiresAt - Date.now()), 2 ** 31 - 1);
    session.expiryTimer = setTimeout(() => {
      if (Date.now() >= expiresAt) this.disconnect(session, { code: CloseCode.TOKEN_EXPIRED, reason: 'credential expired', reconnect: true });
      else this.scheduleExpiry(session);
    }, delay);
    session.expiryTimer.unref();
  }

  /** Closes a local session with a disconnect frame and cleans up at once. */
  disconnect(session: Session, order: DisconnectOrder, after?: number): void {
    if (session.closing) return;
    this.metrics.disconnects.inc({ reason: closeCodeName(order.code) ?? String(order.code) });
    session.close(order.code, order.reason, order.reconnect, after);
    void this.cleanup(session);
  }

  /** Closes local sessions by id or by user; returns how many were closed. */
  disconnectLocal(sessionIds: string[] | null, user: string | null, order: DisconnectOrder): number {
    const targets = sessionIds
      ? sessionIds.map((id) => this.hub.sessions.get(id)).filter((session): session is Session => session !== undefined)
      : user !== null ? [...this.hub.userSessions(user)] : [];
    for (const session of targets) this.disconnect(session, order);
    return targets.length;
  }

  /** Removes every trace of the session: local index, presence (leave events), registry. Idempotent. */
  async cleanup(session: Session): Promise<void> {
    session.closing = true;
    if (session.expiryTimer) clearTimeout(session.expiryTimer);
    if (!this.hub.sessions.has(session.id) && !session.registered) return;
    const channels = this.hub.removeSession(session);
    session.subscriptions.clear();
    this.metrics.sessions.set(this.hub.sessions.size);
    const registered = session.registered;
    session.registered = false;
    const facts = factsOf(session);
    if (registered) this.reportEnd(facts, session.endedWith);
    try {
      await this.channels.leaveAll(session.id, session.user, channels);
    } catch (error) {
      this.unremoved.set(session.id, facts);
      this.logger.warn({ err: error, session: session.id }, 'session cleanup incomplete; retried when the engine is back');
    }
    if (registered) await this.unregister(facts);
  }

  private reportEnd(facts: SessionFacts, ended: Session['endedWith']): void {
    const code = ended?.code ?? CloseCode.NORMAL;
    const reason = ended?.reason ?? '';
    const cause = EVICTIONS.get(code);
    if (cause) this.events.sessionEvicted(facts, code, cause, reason);
    this.events.sessionDisconnected(facts, code, reason);
  }

  /** Takes the session out of the registry, reporting the user offline when it was their last session anywhere. */
  private async unregister(facts: SessionFacts): Promise<void> {
    try {
      const removed = await this.engine.registry.removeSession({ session: facts.session, user: facts.user, node: this.nodeId });
      if (removed?.offline && facts.user !== null) this.events.userOffline(facts.user, facts.session, removed.offline.seq);
    } catch (error) {
      this.unremoved.set(facts.session, facts);
      this.logger.warn({ err: error, session: facts.session }, 'session cleanup incomplete; retried when the engine is back');
    }
  }

  /** Sessions whose cleanup could not reach the store: presence and registry entries removed now, leaves announced. */
  private async removeUnremoved(): Promise<void> {
    const pending = [...this.unremoved.values()];
    if (pending.length === 0) return;
    const memberships = await this.engine.presence.removeSessions(pending.map((facts) => facts.session));
    await this.channels.announceLeaves(memberships);
    for (const facts of pending) {
      this.unremoved.delete(facts.session);
      await this.unregister(facts);
    }
  }
}

function factsOf(session: Session): SessionFacts {
  return {
    session: session.id, user: session.user, connectedAt: session.connectedAt, client: session.client,
    auth: session.identity.method, protocol: session.protocol,
  };
}
