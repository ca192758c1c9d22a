import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { WsgateError } from '../../../protocol/errors.js';
import { BatchBody } from '../schemas.js';
import type { RouteCheck } from '../route-check.js';
import { compileBody } from '../validation.js';

interface KnownRoute {
  method: string;
  pattern: RegExp;
  url: string;
  body?: ValidateFunction;
  check?: RouteCheck;
}

/**
 * Records the API's routes as they are registered, so a batch can be checked item by item — route exists, body
 * matches its schema, the route's own check (names, namespaces, ids) passes — before any item runs. Install before
 * the routes are added.
 */
export class RouteTable {
  private readonly routes: KnownRoute[] = [];

  install(api: FastifyInstance): void {
    api.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const body = route.schema?.body ? compileBody(route.schema.body as object) : undefined;
      const pattern = new RegExp(`^${route.url.split('/').map((part) => (part.startsWith(':') ? `(?<${part.slice(1)}>[^/]+)` : escape(part))).join('/')}$`);
      for (const method of methods) this.routes.push({ method, pattern, url: route.url, body, check: route.config?.check });
    });
  }

  /** The route an item goes to, with its decoded path parameters. */
  find(method: string, path: string): { route: KnownRoute; params: Record<string, string> } | undefined {
    const pathname = path.split('?')[0]!;
    for (const route of this.routes) {
      const match = route.method === method ? route.pattern.exec(pathname) : null;
      if (!match) continue;
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.groups ?? {})) {
        try {
          params[name] = decodeURIComponent(value);
        } catch {
          throw new WsgateError('REQUEST_INVALID', `path parameter ${name} is not valid percent-encoding`);
        }
      }
      return { route, params };
    }
    return undefined;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
