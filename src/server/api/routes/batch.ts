import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { WsgateError } from '../../../protocol/errors.js';
import { BatchBody } from '../schemas.js';
import type { RouteCheck } from '../route-check.js';
import { compileBody } from '../validation.js';

/** Router options of the whole HTTP app, so batch items are matched exactly as requests are. */
export const ROUTER_OPTIONS = {
  // Channel names (up to MAX_CHANNEL_LENGTH, 265 characters; up to three times that URL-encoded) travel as path parameters.
  maxParamLength: 1024,
} as const;

interface KnownRoute {
  url: string;
  body?: ValidateFunction;
  check?: RouteCheck;
}

/**
 * Records the API's routes as they are registered, so a batch can be checked item by item — route exists, body
 * matches its schema, the route's own check (names, namespaces, ids) passes — before any item runs. Install before
 * the routes are added. Paths are matched by find-my-way, the router Fastify itself uses, with the app's options.
 */
export class RouteTable {
  private readonly router = FindMyWay(ROUTER_OPTIONS);

  install(api: FastifyInstance): void {
    api.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const known: KnownRoute = { url: route.url, body: route.schema?.body ? compileBody(route.schema.body as object) : undefined, check: route.config?.check };
      for (const method of methods) this.router.on(method as HTTPMethod, route.url, () => {}, known);
    });
  }

  /** The route an item goes to, with its decoded path parameters. */
  find(method: string, path: string): { route: KnownRoute; params: Record<string, string> } | undefined {
    const pathname = path.split('?')[0]!;
    try {
      decodeURIComponent(pathname);
    } catch {
      // find-my-way answers "no route" for a malformed escape; the caller should hear what is wrong.
      throw new WsgateError('REQUEST_INVALID', 'the path is not valid percent-encoding');
    }
    const found = this.router.find(method as HTTPMethod, pathname);
    if (!found) return undefined;
    return { route: found.store as KnownRoute, params: { ...(found.params as Record<string, string>) } };
  }
}

/**
 * `POST /api/batch`: several calls in one request, run in order through `inject` against this app with the caller's
 * API key. Every item is checked first; one bad item refuses the whole batch and nothing runs. Items that pass the
 * check answer independently (a batch is not a transaction).
 */
export function registerBatchRoute(api: FastifyInstance, routes: RouteTable): void {
  api.post<{ Body: Static<typeof BatchBody> }>('/batch', { schema: { body: BatchBody } }, async (request) => {
    const { requests } = request.body;
    requests.forEach((item, index) => checkItem(routes, item, index));
    const responses: Array<{ status: number; body: unknown }> = [];
    for (const item of requests) {
      const hasBody = item.body !== undefined;
      const response = await api.inject({
        method: item.method,
        url: item.path,
        headers: {
          authorization: request.headers.authorization ?? '',
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        ...(hasBody ? { payload: JSON.stringify(item.body) } : {}),
      });
      responses.push({ status: response.statusCode, body: parseBody(response.body, response.headers['content-type']) });
    }
    return { responses };
  });
}

/** Refuses the batch (BODY_INVALID naming the item) unless the item would be accepted on its own. */
function checkItem(routes: RouteTable, item: Static<typeof BatchBody>['requests'][number], index: number): void {
  const refuse = (detail: string) => new WsgateError('BODY_INVALID', `body/requests/${index}${detail}`);
  let found: ReturnType<RouteTable['find']>;
  try {
    found = routes.find(item.method, item.path);
  } catch (error) {
    throw refuse(`: ${describe(error)}`);
  }
  if (!found) throw refuse(`: no route ${item.method} ${item.path}`);
  const { route, params } = found;
  if (route.url.endsWith('/batch')) throw refuse(': batches do not nest');
  if (route.body && item.body !== undefined && !route.body(item.body)) {
    const error = route.body.errors?.[0];
    throw refuse(`/body${error?.instancePath ?? ''} ${error?.message ?? 'is not valid'}`);
  }
  if (route.body && item.body === undefined && item.method === 'POST' && !route.body({})) throw refuse(': needs a body');
  try {
    route.check?.({ params, body: item.body });
  } catch (error) {
    throw refuse(`: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  if (error instanceof WsgateError) return `${error.code}: ${error.message}`;
  throw error;
}

function parseBody(text: string, contentType: unknown): unknown {
  if (typeof contentType === 'string' && contentType.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
