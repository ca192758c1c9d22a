import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { WsgateError } from '../../../protocol/errors.js';
import { BatchBody } from '../schemas.js';
import { compileBody } from '../validation.js';

interface KnownRoute {
  method: string;
  pattern: RegExp;
  url: string;
  body?: ValidateFunction;
}

/**
 * Records the API's routes as they are registered, so a batch can be checked item by item — route exists, body
 * matches its schema — before any item runs. Install before the routes are added.
 */
export class RouteTable {
  private readonly routes: KnownRoute[] = [];

  install(api: FastifyInstance): void {
    api.addHook('onRoute', (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const body = route.schema?.body ? compileBody(route.schema.body as object) : undefined;
      const pattern = new RegExp(`^${route.url.split('/').map((part) => (part.startsWith(':') ? '[^/]+' : escape(part))).join('/')}$`);
      for (const method of methods) this.routes.push({ method, pattern, url: route.url, body });
    });
  }

  find(method: string, path: string): KnownRoute | undefined {
    const pathname = path.split('?')[0]!;
    return this.routes.find((route) => route.method === method && route.pattern.test(pathname));
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
    requests.forEach((item, index) => {
      const route = routes.find(item.method, item.path);
      if (!route) throw new WsgateError('BODY_INVALID', `body/requests/${index}: no route ${item.method} ${item.path}`);
      if (route.url.endsWith('/batch')) throw new WsgateError('BODY_INVALID', `body/requests/${index}: batches do not nest`);
      if (route.body && item.body !== undefined && !route.body(item.body)) {
        const error = route.body.errors?.[0];
        throw new WsgateError('BODY_INVALID', `body/requests/${index}/body${error?.instancePath ?? ''} ${error?.message ?? 'is not valid'}`);
      }
      if (route.body && item.body === undefined && item.method === 'POST' && !route.body({})) {
        throw new WsgateError('BODY_INVALID', `body/requests/${index}: needs a body`);
      }
    });
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
