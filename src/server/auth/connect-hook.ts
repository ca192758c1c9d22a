import type { IncomingMessage } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parse as parseCookies } from 'cookie';
import type { Histogram } from 'prom-client';
import { WsgateError } from '../../protocol/errors.js';
import { MAX_CHANNEL_LENGTH, USER_ID_PATTERN } from '../../protocol/names.js';
import { SpanName, tracedFetch } from '../observability/tracing.js';
import type { Identity } from './identity.js';

export interface ConnectHookOptions {
  url: string;
  /** Sent as `Authorization: Bearer`, so the backend can tell the gateway's calls from others. */
  apiKey: string;
  /** Handshake headers passed on (lower case); cookies always are. */
  headers: readonly string[];
  timeoutMs: number;
}

/** What the backend receives for each handshake. */
export interface ConnectHookCall {
  cookies: Record<string, string>;
  headers: Record<string, string>;
  ip: string;
  node: string;
}

const Answer = Type.Object({
  user: Type.Union([Type.String({ pattern: USER_ID_PATTERN.source }), Type.Null()]),
  claims: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /** The session must refresh within this long (absent: it does not expire). */
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  sessionPolicy: Type.Optional(Type.Object({
    max: Type.Integer({ minimum: 0 }),
    onLimit: Type.Union([Type.Literal('kick-oldest'), Type.Literal('reject-new')]),
  })),
  /** Channels the session joins at once, as if a backend had subscribed it. */
  channels: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: MAX_CHANNEL_LENGTH }), { maxItems: 1_000 })),
});
type Answer = Static<typeof Answer>;
const validateAnswer = new Ajv({ strict: false }).compile<Answer>(Answer);

export interface HookAdmission {
  identity: Identity;
  channels: string[];
}

/**
 * The connect hook: a handshake without a ticket or token is admitted by a backend. The gateway POSTs the
 * handshake's cookies, the chosen headers and the client address; `200 {user, claims?, ttlSeconds?, sessionPolicy?,
 * channels?}` admits, `401`/`403 {reason?}` refuses (CONNECT_REFUSED). Anything else — another status, an answer that
 * does not fit, a timeout, a backend that is down — fails closed with CONNECT_BACKEND_UNAVAILABLE; nobody is admitted
 * without a yes. Latency is observed per outcome.
 */
export class ConnectHook {
  constructor(
    private readonly options: ConnectHookOptions,
    private readonly nodeId: string,
    private readonly latency: Histogram<'outcome'>,
  ) {}

  async admit(req: IncomingMessage, ip: string): Promise<HookAdmission> {
    const started = performance.now();
    let outcome = 'unavailable';
    try {
      const admission = await this.ask(this.callOf(req, ip));
      outcome = 'admitted';
      return admission;
    } catch (error) {
      if (error instanceof WsgateError && error.code === 'CONNECT_REFUSED') outcome = 'refused';
      throw error;
    } finally {
      this.latency.observe({ outcome }, (performance.now() - started) / 1000);
    }
  }

  private callOf(req: IncomingMessage, ip: string): ConnectHookCall {
    const cookies: Record<string, string> = {};
    for (const [name, value] of Object.entries(parseCookies(req.headers.cookie ?? ''))) if (value !== undefined) cookies[name] = value;
    const headers: Record<string, string> = {};
    for (const name of this.options.headers) {
      const value = req.headers[name.toLowerCase()];
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    return { cookies, headers, ip, node: this.nodeId };
  }

  private async ask(call: ConnectHookCall): Promise<HookAdmission> {
    let response: Response;
    try {
      response = await tracedFetch(SpanName.connectHook, {}, this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      const what = (error as Error).name === 'TimeoutError' ? `did not answer within ${this.options.timeoutMs} ms` : 'is unreachable';
      throw new WsgateError('CONNECT_BACKEND_UNAVAILABLE', `the connect backend ${what}`, { cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as unknown;
    if (response.status === 401 || response.status === 403) {
      const reason = (body as { reason?: unknown } | undefined)?.reason;
      throw new WsgateError('CONNECT_REFUSED', typeof reason === 'string' && reason !== '' ? reason.slice(0, 120) : undefined);
    }
    if (response.status !== 200) throw new WsgateError('CONNECT_BACKEND_UNAVAILABLE', `the connect backend answered ${response.status}`);
    if (!validateAnswer(body)) {
      const problem = validateAnswer.errors?.[0];
      throw new WsgateError('CONNECT_BACKEND_UNAVAILABLE', `the connect backend's answer is not valid: ${problem?.instancePath || 'body'} ${problem?.message ?? ''}`.trim());
    }
    const claims: Record<string, unknown> = { ...body.claims };
    if (body.sessionPolicy) claims.sessionPolicy = body.sessionPolicy;
    const identity: Identity = { user: body.user, claims, method: 'hook' };
    if (body.ttlSeconds !== undefined) identity.expiresAt = Date.now() + body.ttlSeconds * 1000;
    return { identity, channels: body.channels ?? [] };
  }
}
