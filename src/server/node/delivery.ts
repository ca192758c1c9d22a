import type { JoinFrame, LeaveFrame, StreamPosition } from '../../protocol/frames.js';
import { encodeEventEnvelope, encodeInboxMessage, type InboxMessage } from '../codec/broker-envelope.js';
import { messageFrameTemplate } from '../codec/node-frames.js';
import type { PreparedFrame } from '../codec/prepared-frame.js';
import { WsgateError } from '../../protocol/errors.js';
import type { Engine } from '../engine/engine.js';
import { PubSubUnavailableError } from '../engine/broker/channel-publisher.js';
import type { SessionRecord } from '../engine/registry/registry.js';
import type { HistoryOptions } from '../engine/history/history.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { DeliveryCounters, LocalSubscriptions } from './local-subscriptions.js';

/** One warning per this many milliseconds while the engine is down; a line per publication would flood the log. */
const DEGRADED_LOG_INTERVAL_MS = 10_000;

/**
 * Cluster-wide delivery: publications to channels (through the broker, once per interested node), frames to users and
 * sessions (looked up in the registry, sent to the inboxes of exactly the nodes that hold them). Local targets are
 * served directly, without a broker round trip; inbox messages for sessions on this node are handed back to the
 * caller, which carries them out itself. With the engine down it delivers locally and says so in the log.
 */
export class DeliveryService {
  private lastDegradedLog = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly nodeId: string,
    private readonly engine: Engine,
    private readonly hub: Hub,
    private readonly subscriptions: LocalSubscriptions,
    private readonly counters: DeliveryCounters,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private onDegraded(operation: string, error: unknown): void {
    const now = this.now();
    if (now - this.lastDegradedLog < DEGRADED_LOG_INTERVAL_MS) return;
    this.lastDegradedLog = now;
    this.logger.warn({ err: error, operation }, 'engine unavailable: delivering locally');
  }

  /**
   * Gives the publication its offset (and history entry) and publishes it to every subscriber but `excludeSession`,
   * in one atomic step per channel where the engine allows (see `ChannelPublisher`). `dataJson` is the data as JSON
   * text; it is embedded, never re-encoded.
   */
  async publishToChannel(channel: string, dataJson: string, fromJson: string, excludeSession: string | null, history: HistoryOptions): Promise<StreamPosition> {
    const template = messageFrameTemplate(channel, dataJson, fromJson);
    try {
      return await this.engine.publisher.publish(channel, { template, dataJson, fromJson, excludeSession }, history);
    } catch (error) {
      if (error instanceof PubSubUnavailableError) {
        // Kept in history under its real position; only pub/sub is down, so this node's subscribers get it directly.
        this.onDegraded('broker', error);
        this.subscriptions.onChannelMessage(channel, error.envelope);
        return error.position;
      }
      // The store is down, so the publication has no place in the channel's sequence: refused, never delivered to
      // some subscribers and silently missed by others. The publisher retries.
      this.onDegraded('history', error);
      throw new WsgateError('ENGINE_UNAVAILABLE', undefined, { cause: error });
    }
  }

  /** A frame without a stream position (presence events) to every subscriber of the channel but `excludeSession`. */
  async publishEvent(channel: string, event: JoinFrame | LeaveFrame, excludeSession: string | null): Promise<void> {
    await this.broadcast(channel, encodeEventEnvelope(event, excludeSession));
  }

  /** Through the broker to every interested node; with the broker down, to this node's subscribers only. */
  private async broadcast(channel: string, envelope: Buffer): Promise<void> {
    try {
      await this.engine.broker.publish(channel, envelope);
    } catch (error) {
      this.onDegraded('broker', error);
      this.subscriptions.onChannelMessage(channel, envelope);
    }
  }

  /** Sends a frame to every session of `user` (but `exclude`), across the cluster; returns how many sessions it targeted. */
  async toUser(user: string, frame: PreparedFrame, exclude?: string): Promise<number> {
    let records: SessionRecord[];
    try {
      records = await this.engine.registry.getUserSessions(user);
    } catch (error) {
      // Registry down: the sessions this node holds are all that can be reached.
      this.onDegraded('registry', error);
      return this.deliverToLocalUser(user, frame, exclude);
    }
    let targeted = 0;
    const remoteNodes = new Set<string>();
    for (const record of records) {
      if (record.session === exclude) continue;
      targeted++;
      if (record.node !== this.nodeId) remoteNodes.add(record.node);
    }
    if (this.hub.userSessions(user).length > 0) this.deliverToLocalUser(user, frame, exclude);
    if (remoteNodes.size > 0) await this.sendToNodes(remoteNodes, { kind: 'user', user, frame: frame.payload.toString('utf8'), ...(exclude ? { exclude } : {}) });
    return targeted;
  }

  /** Sends a frame to one session wherever it is; false when the session does not exist. */
  async toSession(sessionId: string, frame: PreparedFrame): Promise<boolean> {
    const local = this.hub.sessions.get(sessionId);
    if (local) {
      local.enqueue(frame);
      return true;
    }
    const record = await this.engine.registry.getSession(sessionId);
    if (!record) return false;
    await this.engine.broker.sendToNode(record.node, encodeInboxMessage({ kind: 'session', session: sessionId, frame: frame.payload.toString('utf8') }));
    return true;
  }

  /** Delivers a frame to the local sessions of a user; returns how many got it. */
  deliverToLocalUser(user: string, frame: PreparedFrame, exclude?: string): number {
    let delivered = 0;
    for (const session of this.hub.userSessions(user)) {
      if (session.id === exclude) continue;
      session.enqueue(frame);
      delivered++;
    }
    this.counters.deliveries += delivered;
    return delivered;
  }

  /**
   * Sends an inbox message to the nodes that hold the given sessions (records from the registry); this node's own
   * sessions are handed to `local`, in the same pass, instead of going through its inbox.
   */
  async forSessions(records: SessionRecord[], message: (sessions: string[]) => InboxMessage, local: (sessions: string[]) => void): Promise<void> {
    for (const [node, sessions] of groupByNode(records)) {
      if (node === this.nodeId) local(sessions);
      else await this.engine.broker.sendToNode(node, encodeInboxMessage(message(sessions)));
    }
  }

  /** One inbox message to each of `nodes` (remote ones; this node's own inbox is not a shortcut to itself). */
  async sendToNodes(nodes: Iterable<string>, message: InboxMessage): Promise<void> {
    const payload = encodeInboxMessage(message);
    await Promise.all([...nodes].map((node) => this.engine.broker.sendToNode(node, payload)));
  }
}

function groupByNode(records: SessionRecord[]): Map<string, string[]> {
  const byNode = new Map<string, string[]>();
  for (const record of records) {
    let sessions = byNode.get(record.node);
    if (!sessions) byNode.set(record.node, (sessions = []));
    sessions.push(record.session);
  }
  return byNode;
}
