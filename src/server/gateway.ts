import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AddressInfo, ListenOptions } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance, FastifyListenOptions } from 'fastify';
import { closeCodeName, Disconnects } from '../protocol/close-codes.js';
import type { ErrorCode } from '../protocol/errors.js';
import { ADMIN_BUS_PREFIX } from './admin/admin-bus.js';
import { AdminConsole } from './admin/admin-console.js';
import { createHttpApp } from './api/http-app.js';
import type { GatewayContext } from './api/context.js';
import { Authenticator } from './auth/authenticator.js';
import { ConnectHook } from './auth/connect-hook.js';
import { OriginPolicy } from './auth/origin-policy.js';
import { RevocationGuard } from './auth/revocation-guard.js';
import { SubscriptionTokens } from './auth/subscription-tokens.js';
import { TicketService } from './auth/ticket-service.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { ChannelRules } from './channels/channel-rules.js';
import { ChannelOccupancy } from './channels/channel-occupancy.js';
import { ChannelService } from './channels/channel-service.js';
import { ClusterState } from './cluster/cluster-state.js';
import { NodeLease } from './cluster/node-lease.js';
import type { Config } from './config/schema.js';
import { createEngine } from './engine/create.js';
import { classifyFailure } from './engine/failure.js';
import { HttpActionRouter } from './rpc/http-action-router.js';
import { ActionRouteTable } from './rpc/action-route-table.js';
import { RegisteredRoutes } from './rpc/registered-routes.js';
import type { Engine } from './engine/engine.js';
import { codecFor } from './codec/codecs.js';
import { DeliveryService } from './hub/delivery.js';
import { Hub } from './hub/hub.js';
import { InboxDispatcher } from './hub/inbox.js';
import { registerBrokerMetrics } from './observability/broker-metrics.js';
import { registerSequencerMetrics } from './observability/sequencer-metrics.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { CredentialRefresh } from './session/credential-refresh.js';
import { FlushScheduler } from './session/flush-scheduler.js';
import { LivenessMonitor } from './session/liveness.js';
import { RequestHandler, type ActionRouter } from './session/request-handler.js';
import { SessionLifecycle } from './session/session-lifecycle.js';
import { Session, type SessionEnvironment } from './session/session.js';
import { HandshakeHandler, type AcceptedConnection } from './transport/handshake.js';
import { ClientAddresses } from './transport/client-address.js';
import { TlsFiles } from './transport/tls-files.js';
import { WebSocketListeners, WebSocketTransport } from './transport/websocket-transport.js';
import { Webhooks } from './webhooks/webhooks.js';

export interface GatewayOptions {
  /** An engine built by the caller (several in-process nodes sharing a MemoryCluster, tests); default from config. */
  engine?: Engine;
  logger?: Logger;
  /** Routes application actions to backends; default: the HTTP routes of `actions.routes` (none: NO_ROUTE). */
  actions?: ActionRouter;
}

/**
 * One wsgate node: HTTP server with the WebSocket endpoint, the local hub, and the engine that connects it to the
 * rest of the cluster.
 */
export class Gateway implements GatewayContext {
  readonly nodeId: string;
  readonly startedAt = Date.now();
  readonly logger: Logger;
  readonly metrics = new Metrics();
  readonly hub: Hub;
  readonly delivery: DeliveryService;
  readonly channels: ChannelService;
  readonly rules: ChannelRules;
  readonly lifecycle: SessionLifecycle;
  readonly inbox: InboxDispatcher;
  readonly tickets: TicketService;
  readonly authenticator: Authenticator;
  readonly origins: OriginPolicy;
  readonly registeredRoutes: RegisteredRoutes;
  readonly clientAddresses: ClientAddresses;
  readonly tls: TlsFiles;
  readonly webhooks: Webhooks;
  /** This node's part of the cluster-wide state; absent with `cluster.state` off. */
  readonly clusterState?: ClusterState;
  /** The operator console; absent unless `admin.enabled`. */
  readonly admin?: AdminConsole;

  private readonly occupancy: ChannelOccupancy;
  private readonly requests: RequestHandler;
  private readonly scheduler = new FlushScheduler();
  private readonly liveness: LivenessMonitor;
  private readonly lease: NodeLease;
  private handshake?: HandshakeHandler;
  private app?: FastifyInstance;
  private draining = false;
  private lastDegradedLog = 0;
  /** Set by an engine outage; the recovery that follows registers this node's state again. */
  private engineWasDown = false;
  private readonly sessionEnvironment: SessionEnvironment;
  private readonly sockets: WebSocketListeners;
  private stopped?: Promise<void>;

  private constructor(readonly config: Readonly<Config>, readonly engine: Engine, options: GatewayOptions) {
    this.nodeId = config.nodeId || `${hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 32)}-${randomBytes(4).toString('hex')}`;
    this.logger = (options.logger ?? createLogger(config.log.level)).child({ node: this.nodeId });
    this.clientAddresses = new ClientAddresses(config.proxy);
    this.tls = new TlsFiles(config.tls);
    this.webhooks = new Webhooks(config.webhooks, this.nodeId, engine, this.metrics.registry, this.logger);
    const events = this.webhooks.events;
    this.occupancy = new ChannelOccupancy(this.nodeId, engine.channelIndex, events, this.logger);
    this.hub = new Hub(engine.broker, { streams: engine.history, options: config.delivery }, this.logger, this.occupancy);
    registerSequencerMetrics(this.metrics.registry, this.hub.ordering);
    registerBrokerMetrics(this.metrics.registry, engine.broker);
    this.rules = new ChannelRules(config.namespaces);
    this.delivery = new DeliveryService(
      this.nodeId, engine, this.hub, (ids, user, order) => this.lifecycle.disconnectLocal(ids, user, order),
      (operation, error) => {
        // One line per ten seconds is enough; a line per publication would flood the log.
        const now = Date.now();
        if (now - this.lastDegradedLog < 10_000) return;
        this.lastDegradedLog = now;
        this.logger.warn({ err: error, operation }, 'engine unavailable: delivering locally');
      },
    );
    this.channels = new ChannelService(config, this.rules, engine, this.hub, this.delivery, this.nodeId, this.logger, events);
    const revocations = new RevocationGuard(engine.revocations);
    this.lifecycle = new SessionLifecycle(config, this.nodeId, engine, this.hub, this.channels, this.delivery, revocations, this.metrics, this.logger, events);
    this.inbox = new InboxDispatcher(this.hub, this.lifecycle, this.channels, this.logger);
    this.registeredRoutes = new RegisteredRoutes(engine.actionRoutes, this.logger);
    this.tickets = new TicketService(engine.tickets, config.auth.tickets);
    const jwtVerifier = new TokenVerifier(jwtVerifierOptions(config.auth.jwt));
    const hook = config.auth.connectHook.url ? new ConnectHook(config.auth.connectHook, this.nodeId, this.metrics.connectHook) : undefined;
    this.authenticator = new Authenticator(
      this.tickets,
      jwtVerifier,
      new TokenVerifier({ secrets: config.auth.cookie.secrets }),
      revocations,
      { anonymous: config.auth.anonymous, cookieName: config.auth.cookie.name },
      hook,
    );
    const credentials = new CredentialRefresh(this.authenticator, new SubscriptionTokens(jwtVerifier, revocations), this.channels, this.lifecycle, this.metrics);
    const actions = options.actions
      ?? new HttpActionRouter(new ActionRouteTable(config.actions.routes), this.registeredRoutes, this.nodeId, config.actions.maxPending, this.logger);
    this.requests = new RequestHandler(config, () => engine.isHealthy(), this.channels, this.delivery, actions, credentials, this.metrics, this.logger, engine.rateLimits);
    this.origins = new OriginPolicy(config.allowedOrigins, config.port, this.tls.enabled ? 'https' : 'http');
    this.liveness = new LivenessMonitor(this.hub.sessions, config.ws.pingIntervalMs, config.ws.pingTimeoutMs);
    this.sockets = new WebSocketListeners(this.requests, this.logger);
    this.metrics.observeHub({ channels: () => this.hub.channelCount, deliveries: () => this.hub.stats.deliveries });
    this.metrics.observeHistoryBytes(() => this.channels.historyBytes.inFlight);
    this.metrics.observeEngine(() => engine.isHealthy());
    const info = { node: this.nodeId, startedAt: this.startedAt, host: hostname() };
    if (config.cluster.state) {
      this.clusterState = new ClusterState({
        info, hub: this.hub, metrics: this.metrics, counts: engine.channelCounts, isDraining: () => this.draining,
        leaseMs: config.engine.leaseMs, maxIndexedChannels: config.cluster.maxIndexedChannels, logger: this.logger,
      });
    }
    if (config.admin.enabled) this.admin = new AdminConsole(config.admin, this.nodeId, engine.broker, this.hub, engine.registry, events, this.logger);
    this.lease = new NodeLease(info, engine, this.channels, config.engine.leaseMs, this.logger, events, this.clusterState);
    this.sessionEnvironment = {
      sendQueueBytes: config.ws.sendQueueBytes,
      closeTimeoutMs: config.ws.closeTimeoutMs,
      scheduler: this.scheduler,
      traffic: this.metrics.traffic,
      onSlowConsumer: (slow) => {
        this.metrics.slowConsumers.inc();
        slow.close(Disconnects.SLOW_CONSUMER);
      },
      onEnded: (session, disconnect) => {
        if (disconnect) this.metrics.disconnects.inc({ reason: closeCodeName(disconnect.code) ?? String(disconnect.code) });
        void this.lifecycle.cleanup(session);
      },
    };
  }

  /** Builds a node from a validated config; call `listen()` to serve. */
  static async create(config: Readonly<Config>, options: GatewayOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? createLogger(config.log.level);
    // Connection errors of Redis/NATS are expected during outages: logged, never thrown.
    const engine = options.engine ?? createEngine(config.engine, {
      onError: (error, source) => logger.debug({ err: error, source }, 'engine connection error'),
    });
    return new Gateway(config, engine, { ...options, logger });
  }

  /** Starts the engine and the HTTP server; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await this.engine.start(this.nodeId, {
      onChannelMessage: this.admin
        ? (channel, payload) => (channel.startsWith(ADMIN_BUS_PREFIX) ? this.admin!.bus.handle(payload) : this.hub.onChannelMessage(channel, payload))
        : (channel, payload) => this.hub.onChannelMessage(channel, payload),
      onInboxMessage: (payload) => this.inbox.handle(payload),
      onHealthChange: (healthy) => {
        if (!healthy) {
          this.engineWasDown = true;
          this.lease.engineLost();
          this.logger.warn('engine connection lost');
          return;
        }
        // What the broker dropped while it was away is read from history now, or announced as lost.
        void this.hub.resync();
        if (!this.engineWasDown) return;
        this.engineWasDown = false;
        this.lease.engineRestored();
        this.logger.warn('engine connection restored');
        void this.reassertState();
      },
    });
    await this.lease.start();
    await this.admin?.start();
    this.webhooks.start();
    this.app = await createHttpApp(this);
    this.handshake = new HandshakeHandler(
      this.config, this.origins, this.authenticator, { refusal: () => this.refusal(), engineHealthy: () => this.engine.isHealthy() },
      (connection) => this.accept(connection), this.metrics, this.logger, this.clientAddresses,
    );
    this.app.server.on('upgrade', this.handshake.handleUpgrade);
    // fastify hands the options to net.Server#listen as they are; its type predates `reusePort` (Node 22.12).
    const listenOptions: FastifyListenOptions & Pick<ListenOptions, 'reusePort'> = {
      port: this.config.port, host: this.config.host, reusePort: this.config.reusePort,
    };
    await this.app.listen(listenOptions);
    this.liveness.start();
    this.metrics.rates.start();
    const address = this.app.server.address() as AddressInfo;
    this.origins.bindPort(address.port);
    if (this.config.proxy.protocol && this.config.proxy.trustedProxies.length === 0) {
      this.logger.warn('proxy.protocol is on but proxy.trustedProxies is empty: no PROXY header will be read');
    }
    this.logger.info({ port: address.port, host: address.address, engine: this.engine.kind, tls: this.tls.enabled, runtime: process.version }, 'wsgate listening');
    return address;
  }

  /** The store may have come back empty: lease first (so nobody takes this node for dead), then its sessions. */
  private async reassertState(): Promise<void> {
    try {
      await this.lease.renew();
      const sessions = await this.lifecycle.reassertAll();
      await this.occupancy.reconcile(this.hub.channelNames());
      this.logger.info({ sessions }, 'registered this node\'s sessions again after the engine outage');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not register sessions again after the engine outage');
    }
  }

  /** The HTTP app, for `inject()` in tests. */
  get http(): FastifyInstance {
    if (!this.app) throw new Error('gateway is not listening');
    return this.app;
  }

  /**
   * Reads `tls.cert` and `tls.key` again (SIGHUP): new connections get the new certificate, open sessions stay. A bad
   * file keeps the old certificate and throws.
   */
  reloadTls(): void {
    if (!this.tls.enabled) return;
    this.tls.reload(this.http.server as unknown as TlsServer);
    this.logger.info('TLS certificate reloaded');
  }

  isDraining(): boolean {
    return this.draining;
  }

  private refusal(): ErrorCode | null {
    if (this.draining) return 'DRAINING';
    const max = this.config.limits.maxSessions;
    if (max > 0 && this.hub.sessions.size >= max) return 'NODE_FULL';
    return null;
  }

  private accept({ ws, socket, identity, protocol, client, channels }: AcceptedConnection): void {
    const transport = new WebSocketTransport(ws, socket, !this.config.ws.perMessageDeflate);
    const session = new Session({ id: randomBytes(12).toString('base64url'), identity, transport, codec: codecFor(protocol), client }, this.sessionEnvironment);
    this.sockets.attach(ws, session);
    if (this.draining) {
      // A handshake that was past the admission check when the drain began.
      this.lifecycle.disconnect(session, this.drainOrder, this.drainDelay());
      return;
    }
    this.lifecycle.open(session).then(
      async (opened) => {
        // The connect hook's channels, joined as a backend's server-side subscriptions would be.
        if (opened && channels) for (const channel of channels) await this.inbox.changeSubscription('subscribe', session, channel);
      },
      (error: unknown) => {
        const failure = classifyFailure(error, this.engine.isHealthy());
        this.logger[failure.code === 'INTERNAL' ? 'error' : 'warn']({ err: error, session: session.id }, 'session registration failed');
        this.lifecycle.disconnect(session, Disconnects.REGISTRATION_FAILED);
      },
    );
  }

  /**
   * Graceful drain: refuse new sessions (readyz fails, upgrades get 503), tell sessions to reconnect elsewhere in
   * batches with jittered `after` hints, remove this node from the registry, and close. Resolves when done or when
   * `drain.timeoutMs` has passed.
   */
  stop(): Promise<void> {
    this.stopped ??= this.drainAndClose();
    return this.stopped;
  }

  private async drainAndClose(): Promise<void> {
    this.draining = true;
    // The cluster sees the drain at once, not at the next renewal.
    this.lease.renew().catch(() => {});
    // On a shared port the siblings take every new connection once this listener is gone (its accept queue is reset:
    // those clients retry). A node alone on its port keeps listening, so its /readyz tells the balancer it drains.
    if (this.config.reusePort) this.app?.server.close();
    const { batchSize, batchIntervalMs, timeoutMs } = this.config.drain;
    // Sessions get most of the budget; the rest is for removing state, handing webhook partitions over and closing.
    const reserve = Math.min(1_000, Math.floor(timeoutMs / 4));
    const deadline = Date.now() + timeoutMs - reserve;
    this.logger.info({ sessions: this.hub.sessions.size }, 'draining');
    const drained: string[] = [];
    const sessions = [...this.hub.sessions.values()];
    for (let i = 0; i < sessions.length; i += batchSize) {
      for (const session of sessions.slice(i, i + batchSize)) {
        drained.push(session.id);
        this.lifecycle.disconnect(session, this.drainOrder, this.drainDelay());
      }
      if (i + batchSize < sessions.length && Date.now() < deadline) await delay(batchIntervalMs);
    }
    // Sessions that were still being opened when the drain began.
    for (const session of this.hub.sessions.values()) {
      drained.push(session.id);
      this.lifecycle.disconnect(session, this.drainOrder, this.drainDelay());
    }
    await this.waitForSessions(deadline);
    this.liveness.stop();
    this.lease.stop();
    this.metrics.rates.stop();
    await this.removeNodeState(drained);
    await this.webhooks.stop(deadline + reserve / 2);
    await this.admin?.close();
    this.handshake?.close();
    await this.app?.close();
    await this.engine.close();
    this.logger.info({ sessions: drained.length }, 'stopped');
  }

  private readonly drainOrder = Disconnects.SERVICE_RESTART;

  /** A jittered reconnect hint, so clients of a drained node do not all come back at the same instant. */
  private drainDelay(): number {
    return Math.floor(Math.random() * this.config.drain.reconnectSpreadMs);
  }

  /**
   * Leaves nothing of this node in the shared store: presence of every drained session (each session's own cleanup
   * usually got there first; this catches those still in flight or cut off by the deadline, and announces their
   * leaves) and the node's lease and registry entries.
   */
  private async removeNodeState(sessionIds: string[]): Promise<void> {
    try {
      const removed = await this.engine.presence.removeSessions(sessionIds);
      await this.channels.announceLeaves(removed);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the presence of drained sessions');
    }
    try {
      const reported = new Set(sessionIds);
      for (const { record, offline } of await this.engine.registry.removeNode(this.nodeId)) {
        // Drained sessions reported their end when they closed; the removal may still be what took their user offline.
        if (!reported.has(record.session)) this.webhooks.events.sessionDisconnected(record, Disconnects.SERVICE_RESTART.code, Disconnects.SERVICE_RESTART.reason);
        if (offline && record.user !== null) this.webhooks.events.userOffline(record.user, record.session, offline.seq);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node from the registry');
    }
    try {
      await this.clusterState?.drop();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node\'s channel counts');
    }
    try {
      await this.occupancy.releaseAll();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove the node from the channel index');
    }
  }

  private async waitForSessions(deadline: number): Promise<void> {
    while ((this.hub.sessions.size > 0 || this.sockets.openSockets > 0) && Date.now() < deadline) await delay(20);
  }
}

/** The verifier of connection and subscription JWTs: HMAC secrets, a JWKS file and a JWKS URL, as configured. */
function jwtVerifierOptions(jwt: Config['auth']['jwt']): ConstructorParameters<typeof TokenVerifier>[0] {
  return {
    secrets: jwt.secrets,
    jwksFile: jwt.jwksFile || undefined,
    jwks: jwt.jwksUrl
      ? {
          url: jwt.jwksUrl, caFile: jwt.jwksCaFile || undefined, cacheMs: jwt.jwksCacheSeconds * 1000,
          cooldownMs: jwt.jwksCooldownSeconds * 1000, timeoutMs: jwt.jwksTimeoutMs,
        }
      : undefined,
    issuer: jwt.issuer,
    audience: jwt.audience,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
