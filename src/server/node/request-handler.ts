import { Disconnects } from '../../protocol/close-codes.js';
import { WsgateError } from '../../protocol/errors.js';
import type { ClientRequest, DirectFrame, RequestId } from '../../protocol/frames.js';
import { isValidUserId } from '../../protocol/names.js';
import { DirectMessagePolicy } from './direct-message-policy.js';
import type { ActionTypeLimitConfig, Config, RateLimitConfig } from '../config/schema.js';
import { classifyFailure } from '../engine/failure.js';
import type { RateLimitStore } from '../engine/rate-limits/rate-limits.js';
import { TypePatterns } from '../rpc/type-patterns.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { encodeNodeFrame } from '../codec/node-frames.js';
import { RequestError, type ParsedFrame } from '../codec/protocol-codec.js';
import { errorFrame } from '../codec/server-frames.js';
import type { ActionRouter } from '../rpc/action-router.js';
import type { ActionClass, Session } from '../session/session.js';
import type { ChannelService } from './channel-service.js';
import type { CredentialRefresh } from './credential-refresh.js';
import type { DeliveryService } from './delivery.js';
import type { PusherRequests } from './pusher-requests.js';

/** A frame of the wsgate protocol: a built-in request or an application action. */
type NativeFrame = Exclude<ParsedFrame, { kind: 'pusher' }>;

/** Turns client frames into gateway work and answers them. Never throws: every failure becomes an error frame. */
export class RequestHandler {
  constructor(
    private readonly config: Readonly<Config>,
    /** False while the shared store is unreachable: failures are then ENGINE_UNAVAILABLE, not internal errors. */
    private readonly engineHealthy: () => boolean,
    private readonly channels: ChannelService,
    private readonly delivery: DeliveryService,
    private readonly actions: ActionRouter,
    private readonly credentials: CredentialRefresh,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** Where per-user buckets live (the engine's, shared by the cluster). */
    private readonly rateLimits: RateLimitStore,
    /** What Pusher-protocol sessions ask. */
    private readonly pusher: PusherRequests,
  ) {
    this.actionTypeLimits = new TypePatterns(config.limits.actionTypes);
    this.directMessages = new DirectMessagePolicy(config.directMessages);
  }

  private readonly actionTypeLimits: TypePatterns<ActionTypeLimitConfig>;
  private readonly directMessages: DirectMessagePolicy;

  async handleText(session: Session, text: string): Promise<void> {
    let parsed: ParsedFrame;
    try {
      parsed = session.codec.decode(text);
    } catch (error) {
      this.badFrame(session, error, error instanceof RequestError ? error.requestId : undefined);
      return;
    }
    session.frameAccepted();
    this.metrics.traffic.framesIn++;
    if (parsed.kind === 'pusher') {
      // Client event names are the application's: one label for them all.
      this.metrics.messagesIn.inc({ type: parsed.request.event === 'client' ? 'pusher:client-event' : parsed.request.event });
      // Subscriptions share the native subscribe bucket (refusals are `pusher:error` 4301, repeated ones close with
      // 4301); client events have the app's own bucket.
      if (parsed.request.event === 'pusher:subscribe' && !this.verdict(session, 'subscribe', session.takeToken('subscribe', this.config.limits.rate.subscribe), undefined)) return;
      await this.pusher.handle(session, parsed.request);
      return;
    }
    const type = parsed.kind === 'request' ? parsed.request.type : parsed.action.type;
    const id = parsed.kind === 'request' ? parsed.request.id : parsed.action.id;
    this.metrics.messagesIn.inc({ type: parsed.kind === 'request' ? type : 'action' });
    try {
      const admitted = this.admit(session, parsed, id);
      if (admitted === false || (admitted !== true && !(await admitted))) return;
      if (parsed.kind === 'request') await this.handleRequest(session, parsed.request);
      else {
        const payload = await this.actions.route(session, parsed);
        if (payload !== undefined && id !== undefined) session.send({ type: 'reply', id, payload });
      }
    } catch (error) {
      const failure = classifyFailure(error, this.engineHealthy());
      if (failure.code === 'INTERNAL') this.logger.error({ err: error, type, session: session.id }, 'request failed');
      session.send(errorFrame(failure, id));
    }
  }

  handleBinary(session: Session): void {
    this.badFrame(session, new WsgateError('BINARY_NOT_SUPPORTED'), undefined);
  }

  private badFrame(session: Session, error: unknown, id: RequestId | undefined): void {
    this.metrics.badFrames.inc();
    session.send(errorFrame(error, id));
    if (session.countBadFrame() >= this.config.ws.maxBadFrames) session.close(Disconnects.PROTOCOL_ERROR);
  }

  /**
   * Rate limits by action class (namespace buckets where configured, action-type buckets from `limits.actionTypes`,
   * per session or per user across the cluster). A refused request gets `RATE_LIMITED` with `retryAfter`; more than
   * `limits.maxRateLimitStrikes` refusals in a row end the session with close code 4003.
   */
  private admit(session: Session, parsed: NativeFrame, id: RequestId | undefined): boolean | Promise<boolean> {
    if (parsed.kind === 'action') {
      const rule = this.actionTypeLimits.lookup(parsed.action.type);
      if (rule) {
        const bucket = `action:${rule.match}`;
        if (rule.per === 'user' && session.user !== null) return this.admitPerUser(session, session.user, bucket, rule, id);
        return this.verdict(session, 'action', session.takeToken(bucket, rule), id);
      }
    }
    const [actionClass, limit, key] = this.bucketFor(parsed);
    if (!limit) return true;
    return this.verdict(session, actionClass, session.takeToken(key, limit), id);
  }

  /** One bucket for all sessions of the user on every node; with the engine unreachable, the session's own bucket. */
  private async admitPerUser(session: Session, user: string, bucket: string, limit: RateLimitConfig, id: RequestId | undefined): Promise<boolean> {
    let wait: number;
    try {
      wait = await this.rateLimits.take({ kind: 'user', id: user }, bucket, limit);
    } catch (error) {
      this.logger.debug({ err: error, bucket }, 'per-user rate limit unavailable: using the session bucket');
      wait = session.takeToken(bucket, limit);
    }
    return this.verdict(session, 'action', wait, id);
  }

  private verdict(session: Session, actionClass: ActionClass, wait: number, id: RequestId | undefined): boolean {
    if (wait === 0) {
      session.rateAllowed();
      return true;
    }
    this.metrics.rateLimited.inc({ class: actionClass });
    if (session.countRateStrike() > this.config.limits.maxRateLimitStrikes) {
      session.close(Disconnects.RATE_LIMITED, Math.ceil(wait * 1000));
      return false;
    }
    const retryAfter = Math.max(0.001, Math.round(wait * 1000) / 1000);
    session.send(errorFrame(new WsgateError('RATE_LIMITED', undefined, { retryAfter }), id));
    return false;
  }

  private bucketFor(parsed: NativeFrame): [ActionClass, RateLimitConfig | undefined, string] {
    const defaults = this.config.limits.rate;
    if (parsed.kind === 'action') return ['action', defaults.action, 'action'];
    const request = parsed.request;
    switch (request.type) {
      case 'publish':
      case 'subscribe': {
        const namespace = request.channel.slice(0, Math.max(0, request.channel.indexOf(':')));
        // hasOwn: a channel such as "constructor:x" must not reach Object.prototype.
        const override = Object.hasOwn(this.config.namespaces, namespace) ? this.config.namespaces[namespace]!.rateLimits[request.type] : undefined;
        return override ? [request.type, override, `${request.type}:${namespace}`] : [request.type, defaults[request.type], request.type];
      }
      case 'send':
        return ['send', defaults.send, 'send'];
      default:
        // unsubscribe, presence, history and refresh are cheap reads: they share the subscribe bucket.
        return ['subscribe', defaults.subscribe, 'subscribe'];
    }
  }

  private async handleRequest(session: Session, request: ClientRequest): Promise<void> {
    switch (request.type) {
      case 'subscribe':
        if (request.token !== undefined) await this.credentials.subscribeWithToken(session, { ...request, token: request.token });
        else await this.channels.subscribeSession(session, request.channel, { id: request.id, recover: request.recover });
        return;
      case 'unsubscribe': {
        const channel = await this.channels.unsubscribeSession(session, request.channel);
        session.send({ type: 'unsubscribed', id: request.id, channel });
        return;
      }
      case 'publish': {
        const position = await this.channels.publishFromClient(session, request.channel, request.data);
        session.send({ type: 'published', id: request.id, ...position });
        this.metrics.publications.inc({ source: 'client' });
        return;
      }
      case 'presence':
        session.send(await this.channels.presence(session, request.channel, request.id));
        return;
      case 'history':
        await this.channels.history(session, request.channel, request.id, request.since, request.limit);
        return;
      case 'send': {
        const sessions = await this.sendDirect(session, request.user, request.data);
        // The count tells whether the recipient is online: only where the configuration says the sender may know.
        session.send(this.config.directMessages.revealSessions ? { type: 'sent', id: request.id, sessions } : { type: 'sent', id: request.id });
        return;
      }
      case 'refresh':
        session.send(await this.credentials.refresh(session, request));
        return;
    }
  }

  /**
   * A direct message reaches every session of the recipient and is mirrored to the sender's other sessions, when the
   * direct-message policy lets the sender message the recipient.
   */
  private async sendDirect(session: Session, to: string, data: unknown): Promise<number> {
    if (session.user === null) throw new WsgateError('SEND_FORBIDDEN');
    if (!isValidUserId(to)) throw new WsgateError('USER_INVALID');
    await this.directMessages.assertMayMessage(session.identity, session.id, to);
    const frame: DirectFrame = { type: 'direct', from: { user: session.user, session: session.id }, to, data };
    const prepared = encodeNodeFrame(frame);
    const delivered = await this.delivery.toUser(to, prepared, session.id);
    if (to !== session.user) await this.delivery.toUser(session.user, prepared, session.id);
    return delivered;
  }
}
