/**
 * Folder node/: the node's orchestration — what a client's frames ask (request-handler, credential-refresh, and
 * pusher-requests for Pusher-protocol connections), a session's life on the node (session-lifecycle), the node's
 * interest in channels with ordering, floors and fan-out (local-subscriptions, channel-sequencer), channel work for
 * sessions (channel-service), cluster-wide delivery, the inbox, the commands the server API performs (node-commands),
 * drain and engine-outage recovery. It may import channels/, rpc/, webhooks/, auth/, cluster/, hub/, session/, pusher/
 * and everything below them (engine, codecs, protocol, limits, observability, config); nothing imports it but api/ and
 * the composition root.
 */
import type { Disconnect } from '../../protocol/close-codes.js';
import type { RevocationGuard } from '../auth/revocation-guard.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { SubscriptionTokens } from '../auth/subscription-tokens.js';
import type { ChannelRules } from '../channels/channel-rules.js';
import { SubscriptionCountReports } from '../channels/subscription-count-reports.js';
import type { ClusterView } from '../cluster/cluster-view.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { PusherApps } from '../pusher/apps.js';
import { fromWsgateChannel } from '../pusher/channel-names.js';
import type { ActionRouter } from '../rpc/action-router.js';
import type { Session } from '../session/session.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import { ChannelService } from './channel-service.js';
import { ClientFramePosts } from './client-frame-posts.js';
import { CredentialRefresh } from './credential-refresh.js';
import { DeliveryService } from './delivery.js';
import { InboxDispatcher } from './inbox.js';
import { LocalSubscriptions, type DeliveryCounters, type LocalChannelObserver } from './local-subscriptions.js';
import { NodeCommands } from './node-commands.js';
import { PusherRequests } from './pusher-requests.js';
import { RequestHandler } from './request-handler.js';
import { SessionLifecycle } from './session-lifecycle.js';

/** What the node's orchestration is built on: the engine, the local index, the rules, auth and the backends. */
export interface GatewayNodeParts {
  config: Readonly<Config>;
  nodeId: string;
  engine: Engine;
  hub: Hub;
  rules: ChannelRules;
  /** Told when the node starts and stops holding a channel (the cluster-wide channel index). */
  occupancy: LocalChannelObserver;
  events: LifecycleEvents;
  revocations: RevocationGuard;
  authenticator: Authenticator;
  subscriptionTokens: SubscriptionTokens;
  actions: ActionRouter;
  cluster: ClusterView;
  /** What the node delivers locally is counted here (cluster stats, metrics). */
  counters: DeliveryCounters;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The node's orchestration, built in dependency order (each part exists before the parts that use it). The transports
 * enter through `open`, `handleText`, `handleBinary`, `sessionEnded` and `disconnect` (streaming sessions' client
 * frames through `posts`, which hands them to `handleText`); the engine through
 * `onChannelMessage` and `onInboxMessage`; backends (the server API, connect hooks) through `commands`.
 */
export class GatewayNode {
  readonly subscriptions: LocalSubscriptions;
  readonly delivery: DeliveryService;
  readonly channels: ChannelService;
  readonly lifecycle: SessionLifecycle;
  /** The one API of what the node does on request, for the server API and the WebSocket path alike. */
  readonly commands: NodeCommands;
  private readonly inbox: InboxDispatcher;
  private readonly requests: RequestHandler;
  /** Client frames of streaming sessions, which arrive by `POST /emulation` on any node. */
  readonly posts: ClientFramePosts;

  constructor(parts: GatewayNodeParts) {
    const { config, nodeId, engine, hub, metrics, logger, events } = parts;
    const counts = new SubscriptionCountReports(
      events, async (channel) => (await parts.cluster.channel(channel)).subscribers, (channel) => hub.subscriberCount(channel) > 0,
      (channel) => fromWsgateChannel(channel) !== null, logger,
    );
    this.subscriptions = new LocalSubscriptions(
      hub, engine.broker, { streams: engine.history, options: config.delivery }, parts.counters, logger, parts.occupancy, counts,
    );
    this.delivery = new DeliveryService(nodeId, engine, hub, this.subscriptions, parts.counters, logger);
    this.channels = new ChannelService(config, parts.rules, engine, hub, this.subscriptions, this.delivery, nodeId, logger, events);
    this.lifecycle = new SessionLifecycle(config, nodeId, engine, hub, this.subscriptions, this.channels, this.delivery, parts.revocations, metrics, logger, events);
    this.commands = new NodeCommands(config, nodeId, engine, hub, parts.rules, this.channels, this.delivery, this.lifecycle, parts.cluster, metrics, logger);
    const credentials = new CredentialRefresh(parts.authenticator, parts.subscriptionTokens, this.channels, this.lifecycle, metrics);
    const pusher = new PusherRequests(new PusherApps(config.pusher.apps), engine, this.channels, this.lifecycle, events, logger);
    this.requests = new RequestHandler(
      config, () => engine.isHealthy(), this.channels, this.delivery, parts.actions, credentials, metrics, logger, engine.rateLimits, pusher,
    );
    // A POST's frames take the path of a WebSocket's frames.
    this.posts = new ClientFramePosts(nodeId, hub, engine, (session, text) => this.handleText(session, text), config.streaming);
    this.inbox = new InboxDispatcher(hub, this.delivery, this.lifecycle, this.commands, this.posts, logger);
  }

  /** Registers a freshly opened session, then joins the channels its connect hook named; false when it was refused. */
  async open(session: Session, channels?: readonly string[]): Promise<boolean> {
    const opened = await this.lifecycle.open(session);
    // The connect hook's channels, joined as a backend's server-side subscriptions would be.
    if (opened && channels) for (const channel of channels) await this.commands.changeLocalSubscription('subscribe', session, channel);
    return opened;
  }

  handleText(session: Session, text: string): Promise<void> {
    return this.requests.handleText(session, text);
  }

  handleBinary(session: Session): void {
    this.requests.handleBinary(session);
  }

  /** The session's connection ended (closed, or terminated): every trace of it goes. */
  sessionEnded(session: Session): Promise<void> {
    return this.lifecycle.cleanup(session);
  }

  /** Closes a local session with a disconnect frame and cleans up at once. */
  disconnect(session: Session, disconnect: Disconnect, after?: number): void {
    this.lifecycle.disconnect(session, disconnect, after);
  }

  /** The broker's delivery of a channel message to this node. */
  onChannelMessage(channel: string, payload: Buffer): void {
    this.subscriptions.onChannelMessage(channel, payload);
  }

  /** The broker's delivery of a message to this node's inbox. */
  onInboxMessage(payload: Buffer): void {
    this.inbox.handle(payload);
  }

  /** After a broker reconnect or store restart: each channel catches up with its stream. */
  resync(): Promise<void> {
    return this.subscriptions.resync();
  }
}
