import { CloseCode, type Disconnect } from '../../protocol/close-codes.js';
import { WsgateError } from '../../protocol/errors.js';
import type { StreamPosition } from '../../protocol/frames.js';
import type { ChannelRules } from '../channels/channel-rules.js';
import type { ClusterView, NodeView } from '../cluster/cluster-view.js';
import type { Config } from '../config/schema.js';
import type { ChannelPage } from '../engine/channel-counts/channel-counts.js';
import type { Engine } from '../engine/engine.js';
import type { HistoryPage } from '../engine/history/history.js';
import type { SessionRecord } from '../engine/registry/registry.js';
import type { RevocationTarget } from '../engine/revocations/revocations.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Session } from '../session/session.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import type { ChannelService } from './channel-service.js';
import type { DeliveryService } from './delivery.js';
import type { SessionLifecycle } from './session-lifecycle.js';

/** The sessions a command is for: all of a user's, or one by id, wherever they are connected. */
export type SessionTarget = { user: string } | { session: string };

/** A revocation as a backend asks for it: until when (ISO 8601; default `auth.revocation.defaultSeconds`), and why. */
export interface RevocationRequest {
  until?: string;
  reason?: string;
}

/**
 * What the node does on request, for the server API and for the WebSocket path alike: sending to users and sessions,
 * subscribing and disconnecting them, publishing, presence, history, credential deadlines and revocations — across the
 * cluster (registry lookups, other nodes' inboxes) and on this node (what an inbox message or a connect hook asks).
 */
export class NodeCommands {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly nodeId: string,
    private readonly engine: Pick<Engine, 'registry' | 'revocations' | 'presence' | 'history'>,
    private readonly hub: Hub,
    private readonly rules: ChannelRules,
    private readonly channels: ChannelService,
    private readonly delivery: DeliveryService,
    private readonly lifecycle: SessionLifecycle,
    private readonly cluster: ClusterView,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** A frame to every session of the user, across the cluster; returns how many sessions it targeted. */
  sendToUser(user: string, frame: PreparedFrame): Promise<number> {
    return this.delivery.toUser(user, frame);
  }

  /** A frame to one session wherever it is; SESSION_NOT_FOUND when it does not exist. */
  async sendToSession(sessionId: string, frame: PreparedFrame): Promise<void> {
    if (!(await this.delivery.toSession(sessionId, frame))) throw new WsgateError('SESSION_NOT_FOUND');
  }

  /** Ends the target's sessions wherever they live; returns how many there were. */
  async disconnect(target: SessionTarget, disconnect: Disconnect): Promise<number> {
    const records = await this.sessionsOf(target);
    await this.lifecycle.disconnectSessions(records, disconnect);
    return records.length;
  }

  /**
   * A backend subscribes (or unsubscribes) the target's sessions, wherever they live; each is told with a
   * `subscribed`/`unsubscribed` frame without id. Returns the channel's canonical name and how many sessions it asked.
   */
  async changeSubscription(kind: 'subscribe' | 'unsubscribe', channelName: unknown, target: SessionTarget): Promise<{ channel: string; sessions: number }> {
    const { channel } = this.rules.resolve(channelName);
    const records = await this.sessionsOf(target);
    const local: Array<Promise<void>> = [];
    await this.delivery.forSessions(records, (sessions) => ({ kind, channel, sessions }), (sessions) => {
      for (const id of sessions) {
        const session = this.hub.sessions.get(id);
        if (session) local.push(this.changeLocalSubscription(kind, session, channel));
      }
    });
    await Promise.all(local);
    return { channel, sessions: records.length };
  }

  /**
   * Server-side subscription change of one session on this node (a backend's command, or a connect hook's channels);
   * a refused subscribe is logged, never thrown.
   */
  async changeLocalSubscription(kind: 'subscribe' | 'unsubscribe', session: Session, channel: string): Promise<void> {
    if (kind === 'subscribe') {
      if (session.subscriptions.has(channel)) return;
      await this.channels.subscribeSession(session, channel, { trusted: true }).catch((error: unknown) =>
        this.logger.info({ err: error, channel, session: session.id }, 'server-side subscribe refused'));
    } else if (session.subscriptions.has(channel)) {
      await this.channels.endSubscription(session, channel);
      session.send({ type: 'unsubscribed', channel });
    }
  }

  /**
   * A backend's publication: no sender; nobody excluded unless `excludeSession` names one session (Pusher's
   * `socket_id`), wherever it is connected. `dataJson` is embedded as it is.
   */
  async publishFromServer(channelName: unknown, dataJson: string, excludeSession: string | null = null): Promise<{ channel: string } & StreamPosition> {
    const published = await this.channels.publishFromServer(channelName, dataJson, excludeSession);
    this.metrics.publications.inc({ source: 'api' });
    return published;
  }

  /** The channel's presence members; PRESENCE_DISABLED where its namespace keeps none. */
  async presence(channelName: unknown): Promise<{ channel: string; members: Array<{ user: string; sessions: number }> }> {
    const { channel, rules } = this.rules.resolve(channelName);
    if (!rules.presence) throw new WsgateError('PRESENCE_DISABLED');
    return { channel, members: await this.engine.presence.members(channel) };
  }

  /**
   * One page of the channel's history, at most the namespace's history size, after `sinceOffset` in `epoch` (both or
   * neither); HISTORY_DISABLED without history.
   */
  async history(channelName: unknown, query: { sinceOffset?: number; epoch?: string; limit?: number }): Promise<{ channel: string; page: HistoryPage }> {
    const { channel, rules } = this.rules.resolve(channelName);
    if (rules.history.size === 0) throw new WsgateError('HISTORY_DISABLED');
    const { sinceOffset, epoch, limit } = query;
    if ((sinceOffset === undefined) !== (epoch === undefined)) throw new WsgateError('BODY_INVALID', 'sinceOffset and epoch go together');
    const since = sinceOffset !== undefined ? { offset: sinceOffset, epoch: epoch! } : undefined;
    const page = await this.engine.history.read(channel, { since, limit: Math.min(limit ?? rules.history.size, rules.history.size) });
    return { channel, page };
  }

  /** The cluster's subscriber counts of one channel, with its presence count where presence is on. */
  async channelInfo(channelName: unknown): Promise<{ channel: string; subscribers: number; presence: number | null; nodes: Array<{ node: string; subscribers: number }> }> {
    const { channel, rules } = this.rules.resolve(channelName);
    const [counts, presence] = await Promise.all([this.cluster.channel(channel), rules.presence ? this.engine.presence.count(channel) : null]);
    return { channel, subscribers: counts.subscribers, presence, nodes: counts.nodes };
  }

  /** The cluster's channels by name, one page at a time. */
  listChannels(prefix: string, cursor: string | undefined, limit: number): Promise<ChannelPage> {
    return this.cluster.channels(prefix, cursor, limit);
  }

  /** Every live node with its stats. */
  clusterNodes(): Promise<NodeView[]> {
    return this.cluster.nodes();
  }

  /** What this node holds now. */
  localCounts(): { sessions: number; channels: number; users: number } {
    return { sessions: this.hub.sessions.size, channels: this.hub.channelCount, users: this.hub.userCount };
  }

  /** The user's sessions across the cluster, from the registry. */
  userSessions(user: string): Promise<SessionRecord[]> {
    return this.engine.registry.getUserSessions(user);
  }

  /**
   * Moves the credential deadline of the target's sessions wherever they live: `ttlSeconds` from now (0: closed with
   * 4004 now), or none with null. Returns how many sessions were told.
   */
  async setExpiry(target: SessionTarget, ttlSeconds: number | null): Promise<number> {
    const records = await this.sessionsOf(target);
    const ttlMs = ttlSeconds === null ? null : ttlSeconds * 1000;
    await this.delivery.forSessions(records, (sessions) => ({ kind: 'expiry', sessions, ttlMs }), (sessions) => {
      for (const id of sessions) {
        const session = this.hub.sessions.get(id);
        if (session) this.lifecycle.setExpiry(session, ttlMs);
      }
    });
    return records.length;
  }

  /** Revokes a user: stored first, then every session of the user is closed with 4503. */
  async revokeUser(user: string, request: RevocationRequest): Promise<{ until: number; reason: string; sessions: number }> {
    const { until, reason } = await this.storeRevocation({ kind: 'user', id: user }, request);
    const sessions = await this.disconnect({ user }, { code: CloseCode.UNAUTHORIZED, reason });
    return { until, reason, sessions };
  }

  /**
   * Revokes a token id: stored first, then every live node ends the sessions and subscriptions that rest on it (no
   * index maps token ids to sessions). Returns how many nodes were asked, this one included.
   */
  async revokeToken(tokenId: string, request: RevocationRequest): Promise<{ until: number; nodes: number }> {
    const { until, reason } = await this.storeRevocation({ kind: 'token', id: tokenId }, request);
    const remote = (await this.engine.registry.liveNodes()).map((node) => node.node).filter((node) => node !== this.nodeId);
    await this.delivery.sendToNodes(remote, { kind: 'revoke-token', tokenId, reason });
    this.lifecycle.revokeToken(tokenId, reason);
    return { until, nodes: remote.length + 1 };
  }

  /** Lifts a revocation; false when there was none. */
  liftRevocation(target: RevocationTarget): Promise<boolean> {
    return this.engine.revocations.lift(target);
  }

  /** Stored before any session is told: a session the disconnect misses, or a reconnect, meets it at its next check. */
  private async storeRevocation(target: RevocationTarget, request: RevocationRequest): Promise<{ until: number; reason: string }> {
    const now = Date.now();
    const until = request.until === undefined ? now + this.config.auth.revocation.defaultSeconds * 1000 : Date.parse(request.until);
    if (Number.isNaN(until)) throw new WsgateError('BODY_INVALID', 'body/until is not an ISO 8601 date-time');
    if (until <= now) throw new WsgateError('BODY_INVALID', 'body/until must be in the future');
    const reason = request.reason ?? 'revoked by the server';
    await this.engine.revocations.revoke(target, { until, reason, revokedAt: now });
    return { until, reason };
  }

  /** The registry records of the target; SESSION_NOT_FOUND for a session id nobody holds. */
  private async sessionsOf(target: SessionTarget): Promise<SessionRecord[]> {
    if ('user' in target) return this.engine.registry.getUserSessions(target.user);
    const record = await this.engine.registry.getSession(target.session);
    if (!record) throw new WsgateError('SESSION_NOT_FOUND');
    return [record];
  }
}
