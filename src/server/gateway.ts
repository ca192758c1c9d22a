/**
 * Folder server/: the composition root. `gateway.ts` builds one node from a validated config — engine, hub, node
 * layer, transports, HTTP app — and wires them, in dependency order; it holds no domain logic of its own. It may import
 * every folder below it; only the CLI and the package entry import it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { ClusterState } from './cluster/cluster-state.js';
import { ClusterView } from './cluster/cluster-view.js';
import { NodeLease } from './cluster/node-lease.js';
import type { Config } from './config/schema.js';
import { createEngine } from './engine/create.js';
import { classifyFailure } from './engine/failure.js';
import { HttpActionRouter } from './rpc/http-action-router.js';
import { ActionRouteTable } from './rpc/action-route-table.js';
import type { ActionRouter } from './rpc/action-router.js';
import { RegisteredRoutes } from './rpc/registered-routes.js';
import type { Engine } from './engine/engine.js';
import { codecFor } from './codec/codecs.js';
import { PusherV7Codec } from './codec/pusher-v7/codec.js';
import { newSocketId } from './pusher/signatures.js';
import { PUSHER_PROTOCOL } from '../protocol/subprotocol.js';
import { Hub } from './hub/hub.js';
import type { ChannelService } from './node/channel-service.js';
import { DrainState, NodeDrain } from './node/drain.js';
import { EngineRecovery } from './node/engine-recovery.js';
import { GatewayNode } from './node/gateway-node.js';
import type { NodeCommands } from './node/node-commands.js';
import { registerBrokerMetrics } from './observability/broker-metrics.js';
import { registerSequencerMetrics } from './observability/sequencer-metrics.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { FlushScheduler } from './session/flush-scheduler.js';
import { LivenessMonitor } from './session/liveness.js';
import { Session, type SessionEnvironment } from './session/session.js';
import { HandshakeHandler, type AcceptedConnection } from './transport/handshake.js';
import type { HandshakeSlot } from './limits/handshake-admission.js';
import { ClientAddresses } from './transport/client-address.js';
import { TlsFiles } from './transport/tls-files.js';
import { WebSocketListeners, WebSocketTransport } from './transport/websocket-transport.js';
import { HttpStreamTransport, streamHeaders, type StreamFraming } from './transport/http-stream-transport.js';
import { newEmulationSecret } from './node/emulation-secret.js';
import { randomBase64url } from './random/random-token.js';
import type { ClientFramePosts } from './node/client-frame-posts.js';
import { DEFAULT_SUBPROTOCOL } from '../protocol/subprotocol.js';
import { Webhooks } from './webhooks/webhooks.js';

export interface GatewayOptions {
  /** An engine built by the caller (several in-process nodes sharing a MemoryCluster, tests); default from config. */
  engine?: Engine;
  logger?: Logger;
  /** Routes application actions to backends; default: the HTTP routes of `actions.routes` (none: NO_ROUTE). */
  actions?: ActionRouter;
}

/**
 * One wsgate node: HTTP server with the WebSocket endpoint, the local hub, the node's orchestration, and the engine
 * that connects it to the rest of the cluster. This class only builds and wires the parts, in dependency order.
 */
export class Gateway implements GatewayContext {
  readonly nodeId: string;
  readonly startedAt = Date.now();
  readonly logger: Logger;
  readonly metrics = new Metrics();
  readonly hub = new Hub();
  /** The node's orchestration: requests, session lifecycle, delivery, inbox, commands. */
  readonly node: GatewayNode;
  readonly commands: NodeCommands;
  readonly channels: ChannelService;
  readonly rules: ChannelRules;
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

  private readonly drainState = new DrainState();
  private readonly drain: NodeDrain;
  private readonly recovery: EngineRecovery;
  private readonly scheduler = new FlushScheduler();
  private readonly liveness: LivenessMonitor;
  private readonly lease: NodeLease;
  private handshake?: HandshakeHandler;
  private app?: FastifyInstance;
  private readonly sessionEnvironment: SessionEnvironment;
  private readonly sockets: WebSocketListeners;
  /** Streaming responses not yet closed; a drain waits for them as for WebSockets. */
  private openStreams = 0;
  private readonly pusherCodec: PusherV7Codec;
  private stopped?: Promise<void>;

  private constructor(readonly config: Readonly<Config>, readonly engine: Engine, options: GatewayOptions) {
    this.nodeId = config.nodeId || `${hostname().replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 32)}-${randomBytes(4).toString('hex')}`;
    this.logger = (options.logger ?? createLogger(config.log.level)).child({ node: this.nodeId });
    this.clientAddresses = new ClientAddresses(config.proxy);
    this.tls = new TlsFiles(config.tls);
    this.webhooks = new Webhooks(config.webhooks, this.nodeId, engine, this.metrics.registry, this.logger, config.pusher.apps);
    const events = this.webhooks.events;
    const occupancy = new ChannelOccupancy(this.nodeId, engine.channelIndex, events, this.logger);
    registerBrokerMetrics(this.metrics.registry, engine.broker);
    this.rules = new ChannelRules(config.namespaces);
    const revocations = new RevocationGuard(engine.revocations);
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
    const actions: ActionRouter = options.actions
      ?? new HttpActionRouter(new ActionRouteTable(config.actions.routes), this.registeredRoutes, this.nodeId, config.actions.maxPending, this.logger);
    const counters = { deliveries: 0, publications: 0 };
    const info = { node: this.nodeId, startedAt: this.startedAt, host: hostname() };
    const isDraining = () => this.drainState.isDraining;
    if (config.cluster.state) {
      this.clusterState = new ClusterState({
        info, hub: this.hub, delivered: counters, metrics: this.metrics, counts: engine.channelCounts, isDraining,
        leaseMs: config.engine.leaseMs, maxIndexedChannels: config.cluster.maxIndexedChannels, logger: this.logger,
      });
    }
    const cluster = new ClusterView({ nodeId: this.nodeId, startedAt: this.startedAt, engine, hub: this.hub, clusterState: this.clusterState, isDraining });
    this.node = new GatewayNode({
      config, nodeId: this.nodeId, engine, hub: this.hub, rules: this.rules, occupancy, events, revocations,
      authenticator: this.authenticator, subscriptionTokens: new SubscriptionTokens(jwtVerifier, revocations), actions, cluster,
      counters, metrics: this.metrics, logger: this.logger,
    });
    this.commands = this.node.commands;
    this.channels = this.node.channels;
    registerSequencerMetrics(this.metrics.registry, this.node.subscriptions.ordering);
    this.origins = new OriginPolicy(config.allowedOrigins, config.port, this.tls.enabled ? 'https' : 'http');
    this.liveness = new LivenessMonitor(this.hub.sessions, config.ws.pingIntervalMs, config.ws.pingTimeoutMs);
    this.sockets = new WebSocketListeners(this.node, this.logger);
    this.pusherCodec = new PusherV7Codec(config.pusher.activityTimeoutSeconds);
    this.metrics.observeHub({ channels: () => this.hub.channelCount, deliveries: () => counters.deliveries });
    this.metrics.observeHistoryBytes(() => this.channels.historyBytes.inFlight);
    this.metrics.observeEngine(() => engine.isHealthy());
    if (config.admin.enabled) this.admin = new AdminConsole(config.admin, this.nodeId, engine.broker, this.hub, engine.registry, events, this.logger);
    this.lease = new NodeLease(info, engine, this.channels, config.engine.leaseMs, this.logger, events, this.clusterState);
    this.drain = new NodeDrain(
      this.drainState, config.drain, this.nodeId, this.hub, this.node.lifecycle, this.channels, engine, events,
      { clusterState: this.clusterState, occupancy }, this.logger,
    );
    this.recovery = new EngineRecovery(this.hub, this.node.subscriptions, this.node.lifecycle, this.lease, occupancy, this.logger);
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
        void this.node.sessionEnded(session);
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
        ? (channel, payload) => (channel.startsWith(ADMIN_BUS_PREFIX) ? this.admin!.bus.handle(payload) : this.node.onChannelMessage(channel, payload))
        : (channel, payload) => this.node.onChannelMessage(channel, payload),
      onInboxMessage: (payload) => this.node.onInboxMessage(payload),
      onHealthChange: (healthy) => this.recovery.onHealthChange(healthy),
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
      port: this.config.port, host: this.config.host, reusePort: this.config.reusePort, backlog: this.config.listenBacklog,
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
    return this.drainState.isDraining;
  }

  private refusal(): ErrorCode | null {
    if (this.drainState.isDraining) return 'DRAINING';
    const max = this.config.limits.maxSessions;
    if (max > 0 && this.hub.sessions.size >= max) return 'NODE_FULL';
    return null;
  }

  private accept({ ws, socket, identity, protocol, client, channels, slot, corked }: AcceptedConnection): void {
    const transport = new WebSocketTransport(ws, socket, !this.config.ws.perMessageDeflate, this.scheduler.batches, corked);
    // A Pusher connection's session id is its socket_id, which its channel and user signatures are bound to.
    const pusher = protocol === PUSHER_PROTOCOL;
    const session = new Session({
      id: pusher ? newSocketId() : newSessionId(), identity, transport, codec: pusher ? this.pusherCodec : codecFor(protocol), client,
    }, this.sessionEnvironment);
    this.sockets.attach(ws, session);
    this.start(session, channels, slot);
  }

  async openStream(req: IncomingMessage, res: ServerResponse, framing: StreamFraming, path: string): Promise<void> {
    const accepted = await this.handshake?.admitStream(req, res, path);
    // Refused (and answered), or the client left while its credential was checked.
    if (!accepted || res.destroyed) return;
    res.writeHead(200, streamHeaders(framing));
    res.socket?.setNoDelay(true);
    res.flushHeaders();
    const transport = new HttpStreamTransport(res, framing, this.config.streaming.heartbeatMs);
    const session = new Session({
      id: newSessionId(), identity: accepted.identity, transport, codec: codecFor(DEFAULT_SUBPROTOCOL), client: accepted.client,
      emulationSecret: newEmulationSecret(),
    }, this.sessionEnvironment);
    transport.attach(session);
    this.openStreams++;
    res.once('close', () => this.openStreams--);
    this.start(session, accepted.channels, accepted.slot);
  }

  get clientFramePosts(): ClientFramePosts {
    return this.node.posts;
  }

  /**
   * A session whose connection is open: turned away when a drain began meanwhile, else registered and welcomed. Its
   * handshake's place is released once it is welcomed or refused (or its connection closed, which releases it too).
   */
  private start(session: Session, channels: string[] | undefined, slot: HandshakeSlot): void {
    if (this.drainState.isDraining) {
      // A handshake that was past the admission check when the drain began.
      slot.release();
      this.drain.turnAway(session);
      return;
    }
    this.node.open(session, channels).then(
      slot.release,
      (error: unknown) => {
        slot.release();
        const failure = classifyFailure(error, this.engine.isHealthy());
        this.logger[failure.code === 'INTERNAL' ? 'error' : 'warn']({ err: error, session: session.id }, 'session registration failed');
        this.node.disconnect(session, Disconnects.REGISTRATION_FAILED);
      },
    );
  }

  /** Drains the node (see `NodeDrain`) and closes it; resolves when done or when `drain.timeoutMs` has passed. */
  stop(): Promise<void> {
    this.stopped ??= this.drain.run({
      stopAccepting: () => {
        // The cluster sees the drain at once, not at the next renewal.
        this.lease.renew().catch(() => {});
        // On a shared port the siblings take every new connection once this listener is gone (its accept queue is
        // reset: those clients retry). A node alone on its port keeps listening, so its /readyz tells the balancer.
        if (this.config.reusePort) this.app?.server.close();
      },
      openSockets: () => this.sockets.openSockets + this.openStreams,
      sessionsEnded: () => {
        this.liveness.stop();
        this.lease.stop();
        this.metrics.rates.stop();
      },
      close: async (deadline) => {
        await this.webhooks.stop(deadline);
        await this.admin?.close();
        this.handshake?.close();
        await this.app?.close();
        await this.engine.close();
      },
    });
    return this.stopped;
  }
}

/** A session id, unique across the cluster: 96 random bits. */
function newSessionId(): string {
  return randomBase64url(12);
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
