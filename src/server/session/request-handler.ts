import { CloseCode } from '../../protocol/close-codes.js';
import { WsgateError } from '../../protocol/errors.js';
import type { ClientRequest, DirectFrame, RequestId } from '../../protocol/frames.js';
import { isValidUserId } from '../../protocol/names.js';
import type { ChannelService } from '../channels/channel-service.js';
import type { Config, RateLimitConfig } from '../config/schema.js';
import type { DeliveryService } from '../hub/delivery.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { parseClientFrame, RequestError, type ParsedFrame } from './client-frames.js';
import type { CredentialRefresh } from './credential-refresh.js';
import { errorFrame } from './server-frames.js';
import type { ActionClass, Session } from './session.js';

/** Answers application actions; the route table decides which backend owns a type. */
export interface ActionRouter {
  route(session: Session, action: ParsedFrame & { kind: 'action' }): Promise<unknown | undefined>;
}

/** No backends configured: every application action is refused with NO_ROUTE. */
export const noRoutes: ActionRouter = {
  async route(_session, parsed) {
    throw new WsgateError('NO_ROUTE', `no backend handles "${parsed.action.type}"`);
  },
};

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
  ) {}

  async handleText(session: Session, text: string): Promise<void> {
    let parsed: ParsedFrame;
    try {
      parsed = parseClientFrame(text);
    } catch (error) {
      this.badFrame(session, error, error instanceof RequestError ? error.requestId : undefined);
      return;
    }
    session.badFrames = 0;
    const type = parsed.kind === 'request' ? parsed.request.type : parsed.action.type;
    const id = parsed.kind === 'request' ? parsed.request.id : parsed.action.id;
    this.metrics.messagesIn.inc({ type: parsed.kind === 'request' ? type : 'action' });
    this.metrics.traffic.framesIn++;
    try {
      if (!this.admit(session, parsed, id)) return;
      if (parsed.kind === 'request') await this.handleRequest(session, parsed.request);
      else {
        const payload = await this.actions.route(session, parsed);
        if (payload !== undefined && id !== undefined) session.send({ type: 'reply', id, payload });
      }
    } catch (error) {
      if (error instanceof WsgateError) session.send(errorFrame(error, id));
      else if (!this.engineHealthy()) session.send(errorFrame(new WsgateError('ENGINE_UNAVAILABLE', undefined, { cause: error }), id));
      else {
        this.logger.error({ err: error, type, session: session.id }, 'request failed');
        session.send(errorFrame(error, id));
      }
    }
  }

  handleBinary(session: Session): void {
    this.badFrame(session, new WsgateError('BINARY_NOT_SUPPORTED'), undefined);
  }

  private badFrame(session: Session, error: unknown, id: RequestId | undefined): void {
    this.metrics.badFrames.inc();
    session.send(errorFrame(error, id));
    session.badFrames++;
    if (session.badFrames >= this.config.ws.maxBadFrames && !session.closing) {
      this.metrics.disconnects.inc({ reason: 'PROTOCOL_ERROR' });
      session.close(CloseCode.PROTOCOL_ERROR, 'too many malformed frames', true);
    }
  }

  /**
   * Rate limits by action class (namespace buckets where configured). A refused request gets `RATE_LIMITED` with
   * `retryAfter`; more than `limits.maxRateLimitStrikes` refusals in a row end the session with close code 4003.
   */
  private admit(session: Session, parsed: ParsedFrame, id: RequestId | undefined): boolean {
    const [actionClass, limit, key] = this.bucketFor(parsed);
    if (!limit) return true;
    const wait = session.takeToken(key, limit);
    if (wait === 0) {
      session.rateStrikes = 0;
      return true;
    }
    this.metrics.rateLimited.inc({ class: actionClass });
    session.rateStrikes++;
    if (session.rateStrikes > this.config.limits.maxRateLimitStrikes) {
      this.metrics.disconnects.inc({ reason: 'RATE_LIMITED' });
      session.close(CloseCode.RATE_LIMITED, 'rate limit exceeded repeatedly', true, Math.ceil(wait * 1000));
      return false;
    }
    const retryAfter = Math.max(0.001, Math.round(wait * 1000) / 1000);
    session.send(errorFrame(new WsgateError('RATE_LIMITED', undefined, { retryAfter }), id));
    return false;
  }

  private bucketFor(parsed: ParsedFrame): [ActionClass, RateLimitConfig | undefined, string] {
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
        if (request.token !== undefined) await this.credentials.subscribe(session, { ...request, token: request.token });
        else await this.channels.subscribe(session, request.channel, request.id, request.recover);
        return;
      case 'unsubscribe': {
        const channel = await this.channels.unsubscribe(session, request.channel);
        session.send({ type: 'unsubscribed', id: request.id, channel });
        return;
      }
      case 'publish': {
        const position = await this.channels.publish(session, request.channel, request.data);
        session.send({ type: 'published', id: request.id, ...position });
        this.metrics.publications.inc({ source: 'client' });
        return;
      }
      case 'presence':
        session.send(await this.channels.presence(session, request.channel, request.id));
        return;
      case 'history':
        session.send(await this.channels.history(session, request.channel, request.id, request.since, request.limit));
        return;
      case 'send': {
        const sessions = await this.sendDirect(session, request.user, request.data);
        session.send({ type: 'sent', id: request.id, sessions });
        return;
      }
      case 'refresh':
        session.send(await this.credentials.refresh(session, request));
        return;
    }
  }

  /** A direct message reaches every session of the recipient and is mirrored to the sender's other sessions. */
  private async sendDirect(session: Session, to: string, data: unknown): Promise<number> {
    if (!this.config.directMessages.enabled || session.user === null) throw new WsgateError('SEND_FORBIDDEN');
    if (!isValidUserId(to)) throw new WsgateError('USER_INVALID');
    const frame: DirectFrame = { type: 'direct', from: { user: session.user, session: session.id }, to, data };
    const json = JSON.stringify(frame);
    const delivered = await this.delivery.toUser(to, json, session.id);
    if (to !== session.user) await this.delivery.toUser(session.user, json, session.id);
    return delivered;
  }
}
