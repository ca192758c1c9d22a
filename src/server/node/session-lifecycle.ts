import { CloseCode, Disconnects, type Disconnect } from '../../protocol/close-codes.js';
import { WsgateError, type ErrorCode } from '../../protocol/errors.js';
import type { RefreshRequiredFrame, UnsubscribedFrame, WelcomeFrame } from '../../protocol/frames.js';
import { sessionPolicyFor, type Identity } from '../auth/identity.js';
import { revocationTargets, revokedError, type RevocationGuard } from '../auth/revocation-guard.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { SessionRecord } from '../engine/registry/registry.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LifecycleEvents, SessionFacts } from '../webhooks/lifecycle-events.js';
import { ExpiryTimer } from '../session/expiry-timer.js';
import { RetryTimer } from '../engine/retry-timer.js';
import type { GrantedSubscription, Session } from '../session/session.js';
import type { ChannelService } from './channel-service.js';
import { secretDigest } from './emulation-secret.js';
import type { DeliveryService } from './delivery.js';
import type { LocalSubscriptions } from './local-subscriptions.js';

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
 * credential expiry (`refresh_required` before it, 4004 at it unless refreshed; the same per subscription token, which
 * drops the subscription), revocation, and one cleanup however it ends (client close, eviction, kick, ping timeout,
 * drain). It reports the session's lifecycle events, and the user's online/offline transitions the registry decided.
 */
export class SessionLifecycle {
  private readonly refreshLeadMs: number;
  /**
   * Sessions that ended while the store was away, with what is still to remove once it is back: their presence, their
   * registry entry. Only a part that failed is tried again: a registry removal that answered is never repeated, since a
   * repeat answers the same transition again (see Registry.removeSession).
   */
  private readonly unremoved = new Map<string, { facts: SessionFacts; presence: boolean; registry: boolean }>();
  private readonly retries: RetryTimer;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly nodeId: string,
    private readonly engine: Engine,
    private readonly hub: Hub,
    private readonly subscriptions: LocalSubscriptions,
    private readonly channels: ChannelService,
    private readonly delivery: DeliveryService,
    private readonly revocations: RevocationGuard,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly events: LifecycleEvents,
  ) {
    this.refreshLeadMs = config.auth.refresh.leadSeconds * 1000;
    // A store that failed one call without going down (no recovery to wait for) is tried again on its own.
    this.retries = new RetryTimer(() => this.removeUnremoved(), (error) => this.logger.debug({ err: error }, 'session cleanup retry failed'));
  }

  /** Registers a freshly opened session; false when the policy refused it (it is then being closed). */
  async open(session: Session): Promise<boolean> {
    this.hub.addSession(session);
    this.metrics.sessions.set(this.hub.sessions.size);
    const policy = sessionPolicyFor(session.identity, this.config.sessions);
    const result = await this.engine.registry.addSession(this.recordOf(session), policy, revocationTargets(session.identity));
    if (!result.accepted) {
      this.disconnect(session, Disconnects.SESSION_LIMIT);
      return false;
    }
    session.markRegistered();
    const facts = factsOf(session);
    if (result.online) this.events.userOnline(session.user!, session.id, result.online.seq);
    this.events.sessionConnected(facts);
    // The sessions this one displaced are gone from the registry: they must be closed even when this session is itself
    // already ending (kicked in turn by a newer one, or the client left), or they would live on unregistered.
    const kicks = result.kicked.length > 0
      ? this.disconnectSessions(result.kicked, Disconnects.KICKED)
      : Promise.resolve();
    // A revocation written while this handshake was past its own check missed the session in the registry: this
    // check, made once the session is registered (by the registry in the registering step itself, where it can),
    // closes that gap.
    const revoked = result.revoked === undefined ? await this.revokedNow(session) : result.revoked && revokedError(result.revoked);
    if (revoked) this.disconnect(session, { code: CloseCode.UNAUTHORIZED, reason: revoked.message });
    if (session.closing) {
      await Promise.all([kicks, this.cleanup(session)]);
      return false;
    }
    this.metrics.connections.inc({ auth: session.identity.method });
    const welcome: WelcomeFrame = {
      type: 'welcome', session: session.id, user: session.user, node: this.nodeId, protocol: session.protocol,
      pingInterval: this.config.ws.pingIntervalMs,
    };
    const expiresAt = session.identity.expiresAt;
    if (expiresAt !== undefined) welcome.expiresIn = Math.max(0, expiresAt - Date.now());
    if (session.emulationSecret !== null) welcome.secret = session.emulationSecret;
    session.send(welcome);
    this.armExpiry(session);
    await kicks;
    return true;
  }

  /**
   * An anonymous session takes a user (a Pusher connection's `pusher:signin`): it leaves the registry as anonymous and
   * joins it as the user's, under the user's session policy, which may kick older sessions or refuse this one (it is
   * then closed with SESSION_LIMIT). False when the session is not anonymous, not registered, ended or was refused.
   */
  async signIn(session: Session, identity: Identity): Promise<boolean> {
    if (session.closing || !session.registered || session.user !== null || identity.user === null) return false;
    session.takeRegistration();
    try {
      await this.engine.registry.removeSession({ session: session.id, user: null, node: this.nodeId });
    } catch (error) {
      // Still registered as anonymous: its cleanup must remove that entry.
      session.markRegistered();
      throw error;
    }
    this.hub.removeSession(session);
    session.adoptUser(identity);
    this.hub.addSession(session);
    const result = await this.engine.registry.addSession(this.recordOf(session), sessionPolicyFor(identity, this.config.sessions));
    if (!result.accepted) {
      this.disconnect(session, Disconnects.SESSION_LIMIT);
      await this.cleanup(session);
      return false;
    }
    session.markRegistered();
    if (result.online) this.events.userOnline(identity.user, session.id, result.online.seq);
    if (result.kicked.length > 0) await this.disconnectSessions(result.kicked, Disconnects.KICKED);
    if (session.closing) {
      // It ended while it was being registered: its cleanup found no registry entry, so this one is removed now.
      await this.cleanup(session);
      return false;
    }
    return true;
  }

  /** The revocation error when the session's user or token is revoked; a store that cannot answer fails closed. */
  private async revokedNow(session: Session): Promise<WsgateError | null> {
    try {
      await this.revocations.assertAllowed(session.identity);
      return null;
    } catch (error) {
      if (error instanceof WsgateError && error.code === 'CREDENTIAL_REVOKED') return error;
      this.disconnect(session, Disconnects.REVOCATION_CHECK_FAILED);
      return null;
    }
  }

  private recordOf(session: Session): SessionRecord {
    const record: SessionRecord = { session: session.id, user: session.user, node: this.nodeId, connectedAt: session.connectedAt, client: session.client };
    if (session.emulationSecret !== null) record.emulation = secretDigest(session.emulationSecret);
    return record;
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
    // Ended since the list was made: its cleanup may already have removed it, and must not find it back.
    if (session.closing || !session.registered) return;
    const result = await this.engine.registry.addSession(this.recordOf(session), { max: 0, onLimit: 'kick-oldest' });
    // The store came back without the user (empty, or a purge took the sessions while this node was cut off): being
    // registered again is a transition the registry counted, so it is reported like any other.
    if (result.accepted && result.online && session.user !== null) this.events.userOnline(session.user, session.id, result.online.seq);
    for (const [channel, state] of session.subscriptions) {
      if (state.presence) {
        await this.engine.presence.join(channel, { ...state.presence, session: session.id, node: this.nodeId });
      }
    }
  }

  /** Arms (or re-arms) the session's credential deadline from its identity. */
  private armExpiry(session: Session): void {
    const expiresAt = session.identity.expiresAt;
    if (expiresAt === undefined) {
      session.clearCredentialExpiry();
      return;
    }
    session.credentialExpiry(() => new ExpiryTimer(
      this.refreshLeadMs,
      (expiresIn) => {
        const frame: RefreshRequiredFrame = { type: 'refresh_required', expiresIn };
        session.send(frame);
      },
      () => this.disconnect(session, Disconnects.TOKEN_EXPIRED),
    )).set(expiresAt);
  }

  /** A refresh brought a new identity (same user): its expiry replaces the old one. */
  renew(session: Session, identity: Identity): void {
    if (session.closing) return;
    session.replaceIdentity(identity);
    this.armExpiry(session);
  }

  /**
   * A backend moved the session's deadline (server API): `ttlMs` from now, or none with null. A deadline that is near
   * asks the client to refresh at once; 0 closes the session with 4004 now.
   */
  setExpiry(session: Session, ttlMs: number | null): void {
    if (session.closing) return;
    const { expiresAt: _previous, ...rest } = session.identity;
    session.replaceIdentity(ttlMs === null ? rest : { ...rest, expiresAt: Date.now() + ttlMs });
    this.armExpiry(session);
  }

  /** Arms the deadline of a subscription a token granted: warned before it, dropped with TOKEN_EXPIRED at it. */
  armGrant(session: Session, channel: string, grant: GrantedSubscription): void {
    const state = session.subscriptions.get(channel);
    if (!state || session.closing) return;
    state.grant?.expiry?.clear();
    state.grant = grant;
    grant.expiry = new ExpiryTimer(
      this.refreshLeadMs,
      (expiresIn) => {
        const frame: RefreshRequiredFrame = { type: 'refresh_required', channel, expiresIn };
        session.send(frame);
      },
      () => void this.dropSubscription(session, channel, 'TOKEN_EXPIRED', 'the subscription token expired', grant),
    );
    grant.expiry.set(grant.expiresAt);
  }

  /** Removes a subscription the gateway ends on its own, telling the client why; only while `grant` still holds it. */
  async dropSubscription(session: Session, channel: string, code: ErrorCode, reason: string, grant?: GrantedSubscription): Promise<void> {
    const state = session.subscriptions.get(channel);
    if (!state || (grant && state.grant !== grant)) return;
    await this.channels.endSubscription(session, channel);
    const frame: UnsubscribedFrame = { type: 'unsubscribed', channel, code, reason };
    session.send(frame);
  }

  /**
   * A token id was revoked: closes this node's sessions that authenticated with it (4503) and drops the subscriptions
   * it granted. Returns how many sessions and subscriptions it ended.
   */
  revokeToken(tokenId: string, reason: string): number {
    let ended = 0;
    const message = `the token is revoked: ${reason}`;
    for (const session of this.hub.sessions.values()) {
      if (session.identity.tokenId === tokenId) {
        this.disconnect(session, { code: CloseCode.UNAUTHORIZED, reason: message });
        ended++;
        continue;
      }
      if (session.subscriptions.size === 0) continue;
      for (const [channel, state] of session.subscriptions) {
        if (state.grant?.tokenId !== tokenId) continue;
        ended++;
        void this.dropSubscription(session, channel, 'CREDENTIAL_REVOKED', message, state.grant).catch((error: unknown) =>
          this.logger.warn({ err: error, session: session.id, channel }, 'could not drop a revoked subscription'));
      }
    }
    return ended;
  }

  /** Closes a local session with a disconnect frame; the session's end cleans up at once (`cleanup`). */
  disconnect(session: Session, disconnect: Disconnect, after?: number): void {
    session.close(disconnect, after);
  }

  /** Closes sessions (records from the registry) on their nodes: this node's at once, others' through their inboxes. */
  async disconnectSessions(records: SessionRecord[], disconnect: Disconnect): Promise<void> {
    await this.delivery.forSessions(
      records,
      (sessions) => ({ kind: 'disconnect', sessions, code: disconnect.code, reason: disconnect.reason }),
      (sessions) => this.disconnectLocal(sessions, null, disconnect),
    );
  }

  /** Closes local sessions by id or by user; returns how many were closed. */
  disconnectLocal(sessionIds: string[] | null, user: string | null, disconnect: Disconnect): number {
    const targets = this.hub.lookup({ sessions: sessionIds, user });
    for (const session of targets) this.disconnect(session, disconnect);
    return targets.length;
  }

  /** Removes every trace of the session: local index, presence (leave events), registry. Idempotent. */
  async cleanup(session: Session): Promise<void> {
    session.clearCredentialExpiry();
    if (!this.hub.sessions.has(session.id) && !session.registered) return;
    const channels = [...session.subscriptions.keys()];
    const memberships = [...session.subscriptions].filter(([, state]) => state.presence).map(([channel]) => channel);
    this.hub.removeSession(session);
    for (const channel of channels) this.subscriptions.removeLocalSubscriber(channel, session);
    for (const state of session.subscriptions.values()) state.grant?.expiry?.clear();
    session.subscriptions.clear();
    this.metrics.sessions.set(this.hub.sessions.size);
    const registered = session.takeRegistration();
    const facts = factsOf(session);
    if (registered) this.reportEnd(facts, session.endedWith);
    try {
      await this.channels.removeSessionPresence(session.id, memberships);
    } catch (error) {
      this.remember(facts, 'presence');
      this.logger.warn({ err: error, session: session.id }, 'session cleanup incomplete; retried');
    }
    if (registered) await this.unregister(facts);
  }

  private remember(facts: SessionFacts, part: 'presence' | 'registry'): void {
    const entry = this.unremoved.get(facts.session) ?? { facts, presence: false, registry: false };
    entry[part] = true;
    this.unremoved.set(facts.session, entry);
    this.retries.schedule();
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
      this.remember(facts, 'registry');
      this.logger.warn({ err: error, session: facts.session }, 'session cleanup incomplete; retried');
    }
  }

  /** Sessions whose cleanup could not reach the store: presence and registry entries removed now, leaves announced. */
  private async removeUnremoved(): Promise<void> {
    const pending = [...this.unremoved.values()];
    if (pending.length === 0) return;
    const present = pending.filter((entry) => entry.presence);
    if (present.length > 0) {
      const memberships = await this.engine.presence.removeSessions(present.map((entry) => entry.facts.session));
      await this.channels.reportPurgedMemberships(memberships);
      for (const entry of present) entry.presence = false;
    }
    for (const entry of pending) {
      const retryRegistry = entry.registry;
      entry.registry = false;
      if (!entry.presence) this.unremoved.delete(entry.facts.session);
      // A failure here remembers the session again (unregister catches it).
      if (retryRegistry) await this.unregister(entry.facts);
    }
  }
}

function factsOf(session: Session): SessionFacts {
  return {
    session: session.id, user: session.user, connectedAt: session.connectedAt, client: session.client,
    auth: session.identity.method, protocol: session.protocol,
  };
}
