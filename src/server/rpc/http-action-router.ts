import { WsgateError } from '../../protocol/errors.js';
import type { Logger } from '../observability/logger.js';
import { SpanName, tracedFetch } from '../observability/tracing.js';
import type { ParsedFrame } from '../codec/protocol-codec.js';
import type { ActionRouter } from './action-router.js';
import type { Session } from '../session/session.js';
import type { ActionRouteTable } from './action-route-table.js';
import type { RegisteredRoutes } from './registered-routes.js';

/** What a backend receives for each application action. */
export interface ActionCall {
  type: string;
  payload: unknown;
  /** The client's request id, when it expects a reply. */
  id?: string | number;
  context: { user: string | null; session: string; node: string; claims: Record<string, unknown> };
}

/**
 * Routes application actions to the backend that owns their type — the configured routes first, then those backends
 * registered at run time — over HTTP: `POST <url>` with an ActionCall. The
 * backend answers `200 {payload}` (sent to the client as `reply`), `204` (nothing to say), or an error status; it may
 * also push later through the server API by session, user or channel. Calls in flight are bounded per node.
 */
export class HttpActionRouter implements ActionRouter {
  private pending = 0;

  constructor(
    private readonly routes: ActionRouteTable,
    private readonly registered: RegisteredRoutes,
    private readonly nodeId: string,
    private readonly maxPending: number,
    private readonly logger: Logger,
  ) {}

  async route(session: Session, parsed: ParsedFrame & { kind: 'action' }): Promise<unknown | undefined> {
    const { action } = parsed;
    const route = this.routes.lookup(action.type) ?? (await this.registered.lookup(action.type));
    if (!route) throw new WsgateError('NO_ROUTE', `no backend handles "${action.type}"`);
    if (this.pending >= this.maxPending) throw new WsgateError('RATE_LIMITED', 'too many actions in flight on this node', { retryAfter: 1 });
    const call: ActionCall = {
      type: action.type,
      payload: action.payload ?? null,
      ...(action.id !== undefined ? { id: action.id } : {}),
      context: { user: session.user, session: session.id, node: this.nodeId, claims: session.identity.claims },
    };
    this.pending++;
    let response: Response;
    try {
      const attributes = { 'wsgate.action.type': action.type, 'wsgate.session': session.id };
      response = await tracedFetch(SpanName.action, attributes, route.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(route.apiKey ? { authorization: `Bearer ${route.apiKey}` } : {}),
          'x-wsgate-node': this.nodeId,
        },
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(route.timeoutMs),
      });
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') throw new WsgateError('BACKEND_TIMEOUT', `the backend of "${action.type}" did not answer within ${route.timeoutMs} ms`);
      this.logger.warn({ err: error, type: action.type }, 'backend unreachable');
      throw new WsgateError('BACKEND_ERROR', `the backend of "${action.type}" is unreachable`, { cause: error });
    } finally {
      this.pending--;
    }
    if (response.status === 204) {
      // A client that asked (sent an id) still learns that the action was handled.
      return action.id !== undefined ? null : undefined;
    }
    const body = await readJson(response);
    if (!response.ok) {
      const message = typeof body?.message === 'string' ? body.message.slice(0, 500) : `the backend answered ${response.status}`;
      throw new WsgateError('BACKEND_ERROR', message);
    }
    return action.id !== undefined ? (body?.payload ?? null) : undefined;
  }
}

async function readJson(response: Response): Promise<Record<string, unknown> | null> {
  try {
    const value: unknown = await response.json();
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
