import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { WsgateError } from '../../protocol/errors.js';
import type { GatewayContext } from './context.js';
import { ClusterView } from '../cluster/cluster-view.js';
import { redactConfig } from '../config/redact.js';
import type { SessionDetails } from '../admin/admin-bus.js';
import type { AdminConsole } from '../admin/admin-console.js';
import { AdminSessions, type AdminSession } from '../admin/admin-sessions.js';

/** The console's cookie: HttpOnly, SameSite=Strict, on `/admin` only. */
export const ADMIN_COOKIE = 'wsgate_admin';
/** The header every console action carries its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';
/** How often the live stream sends the nodes. */
const STREAM_INTERVAL_MS = 1_000;
/** How long a node may take to describe its sessions for a user lookup. */
const DESCRIBE_TIMEOUT_MS = 1_500;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const LoginBody = Type.Object(
  { password: Type.Optional(Type.String({ maxLength: 1024 })), key: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false },
);
const PublishBody = Type.Object({ data: Type.Unknown() }, { additionalProperties: false });
const Reconnect = Type.Object({ reconnect: Type.Optional(Type.Boolean()), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });

declare module 'fastify' {
  interface FastifyRequest {
    adminSession?: AdminSession;
  }
}

/**
 * `/admin`: the console page and its API under `/admin/api`. The API takes only a console session (cookie) and never
 * an API key; every action (any method but GET) needs the session's CSRF token and is written to the audit log.
 * Actions run through this node's own server API (in-process, with a key that never leaves it), so they are checked,
 * counted and logged exactly as a backend's calls are.
 */
export async function registerAdminRoutes(app: FastifyInstance, context: GatewayContext, admin: AdminConsole): Promise<void> {
  const secure = context.tls.enabled;
  const { loginRate, loginBurst } = context.config.admin;

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request) => {
      if (request.headers.authorization !== undefined) throw new WsgateError('ADMIN_API_KEY_REFUSED');
      if (request.url.split('?')[0] === '/admin/api/login') return;
      const session = admin.sessions.verify(parseCookie(request.headers.cookie ?? '')[ADMIN_COOKIE]);
      if (!session) throw new WsgateError('ADMIN_SESSION_REQUIRED');
      request.adminSession = session;
      if (request.method !== 'GET' && request.method !== 'HEAD' && !AdminSessions.csrfMatches(session, request.headers[CSRF_HEADER])) {
        throw new WsgateError('CSRF_INVALID');
      }
    });
    scope.addHook('onResponse', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      context.logger.info(
        {
          audit: {
            admin: request.adminSession?.subject ?? null, method: request.method, route: request.routeOptions.url ?? request.url.split('?')[0],
            target: request.params ?? {}, status: reply.statusCode,
          },
          ip: context.clientAddresses.ofRequest(request.raw),
        },
        'console action',
      );
    });

    scope.post<{ Body: Static<typeof LoginBody> }>('/login', { schema: { body: LoginBody } }, async (request, reply) => {
      const ip = context.clientAddresses.ofRequest(request.raw) ?? 'unknown';
      const wait = await context.engine.rateLimits.take({ kind: 'apiKey', id: 'console-login' }, `ip:${ip}`, { rate: loginRate, burst: loginBurst });
      if (wait > 0) throw new WsgateError('RATE_LIMITED', 'too many console login attempts', { retryAfter: Math.max(1, Math.ceil(wait)) });
      const subject = await admin.credentials.check(request.body);
      if (!subject) throw new WsgateError('ADMIN_LOGIN_FAILED');
      const { cookie, session } = admin.sessions.issue(subject);
      request.adminSession = session;
      void reply.header('set-cookie', serializeCookie(ADMIN_COOKIE, cookie, {
        httpOnly: true, sameSite: 'strict', path: '/admin', secure, maxAge: Math.floor((session.expiresAt - Date.now()) / 1000),
      }));
      return sessionBody(session);
    });

    scope.post('/logout', async (_request, reply) => {
      void reply.header('set-cookie', serializeCookie(ADMIN_COOKIE, '', { httpOnly: true, sameSite: 'strict', path: '/admin', secure, maxAge: 0 }));
      return { loggedOut: true };
    });

    scope.get('/session', async (request) => sessionBody(request.adminSession!));

    scope.get('/nodes', async () => {
      const nodes = await context.commands.clusterNodes();
      return { nodes, cluster: ClusterView.totals(nodes) };
    });

    scope.get('/config', async () => ({ node: context.nodeId, config: redactConfig(context.config) }));

    scope.get('/events', async () => ({ events: admin.tail.recent() }));

    // Live data: the nodes every second and lifecycle events as they happen, as server-sent events.
    scope.get('/stream', (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const expiresIn = request.adminSession!.expiresAt - Date.now();
      const sendNodes = () => {
        context.commands.clusterNodes().then((nodes) => send('nodes', { at: Date.now(), nodes, cluster: ClusterView.totals(nodes) }), () => {});
      };
      sendNodes();
      const timer = setInterval(sendNodes, STREAM_INTERVAL_MS);
      const unfollow = admin.follow((event) => send('lifecycle', event));
      // The stream ends with the session: the page logs in again.
      const expiry = setTimeout(() => res.end(), Math.max(0, expiresIn));
      request.raw.on('close', () => {
        clearInterval(timer);
        clearTimeout(expiry);
        unfollow();
      });
    });

    const forward = (method: 'GET' | 'POST', url: string, reply: FastifyReply, body?: unknown) => app.inject({
      method, url, headers: { authorization: `Bearer ${admin.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    }).then((response) => reply.status(response.statusCode).header('content-type', 'application/json').send(response.body));
    const path = (value: string) => encodeURIComponent(value);

    scope.get<{ Querystring: { prefix?: string; cursor?: string; limit?: string } }>('/channels', async (request, reply) => {
      const query = new URLSearchParams(Object.entries(request.query).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      return forward('GET', `/api/channels?${query}`, reply);
    });

    scope.get<{ Params: { channel: string } }>('/channels/:channel', async (request, reply) => {
      const channel = path(request.params.channel);
      const [counts, history] = await Promise.all([
        app.inject({ method: 'GET', url: `/api/channels/${channel}`, headers: { authorization: `Bearer ${admin.apiKey}` } }),
        app.inject({ method: 'GET', url: `/api/channels/${channel}/history?limit=10`, headers: { authorization: `Bearer ${admin.apiKey}` } }),
      ]);
      if (counts.statusCode !== 200) return reply.status(counts.statusCode).header('content-type', 'application/json').send(counts.body);
      return { ...counts.json<Record<string, unknown>>(), history: history.statusCode === 200 ? history.json<Record<string, unknown>>() : null };
    });

    scope.post<{ Params: { channel: string }; Body: Static<typeof PublishBody> }>('/channels/:channel/publish', { schema: { body: PublishBody } }, async (request, reply) => {
      return forward('POST', '/api/publish', reply, { channel: request.params.channel, data: request.body.data ?? null });
    });

    scope.get<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
      const response = await app.inject({ method: 'GET', url: `/api/users/${path(request.params.user)}`, headers: { authorization: `Bearer ${admin.apiKey}` } });
      if (response.statusCode !== 200) return reply.status(response.statusCode).header('content-type', 'application/json').send(response.body);
      const found = response.json<{ user: string; online: boolean; sessions: Array<{ session: string; node: string; connectedAt: string }> }>();
      const byNode = new Map<string, string[]>();
      for (const session of found.sessions) byNode.set(session.node, [...(byNode.get(session.node) ?? []), session.session]);
      const details = new Map<string, SessionDetails>();
      const unanswered: string[] = [];
      await Promise.all([...byNode].map(async ([node, sessions]) => {
        const answer = await admin.bus.describe(node, sessions, DESCRIBE_TIMEOUT_MS);
        if (answer === null) unanswered.push(node);
        for (const detail of answer ?? []) details.set(detail.session, detail);
      }));
      const now = Date.now();
      return {
        ...found,
        sessions: found.sessions.map((session) => ({
          ...session, ageSeconds: Math.max(0, Math.floor((now - Date.parse(session.connectedAt)) / 1000)), details: details.get(session.session) ?? null,
        })),
        unansweredNodes: unanswered.sort(),
      };
    });

    scope.post<{ Params: { session: string }; Body: Static<typeof Reconnect> }>('/sessions/:session/disconnect', { schema: { body: Reconnect } }, async (request, reply) =>
      forward('POST', `/api/sessions/${path(request.params.session)}/disconnect`, reply, request.body ?? {}));
    scope.post<{ Params: { user: string }; Body: Static<typeof Reconnect> }>('/users/:user/disconnect', { schema: { body: Reconnect } }, async (request, reply) =>
      forward('POST', `/api/users/${path(request.params.user)}/disconnect`, reply, request.body ?? {}));
    scope.post<{ Params: { user: string } }>('/users/:user/revoke', async (request, reply) =>
      forward('POST', `/api/users/${path(request.params.user)}/revoke`, reply, { reason: 'revoked from the operator console' }));
  }, { prefix: '/admin/api' });

  // The page and its bundle (built by `npm run build` into dist/web/admin).
  const bundleDir = join(packageRoot, 'dist', 'web', 'admin');
  const page = async (_request: FastifyRequest, reply: FastifyReply) => reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
    .header('x-frame-options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(await readFile(join(packageRoot, 'web', 'admin', 'index.html')));
  app.get('/admin', page);
  app.get('/admin/', page);
  app.get<{ Params: { file: string } }>('/admin/assets/:file', async (request, reply) => {
    const file = request.params.file;
    const type = /^[a-z0-9-]+\.(js|css)$/.exec(file)?.[1];
    if (!type) throw new WsgateError('NOT_FOUND');
    const body = await readFile(join(bundleDir, file)).catch(() => null);
    if (!body) throw new WsgateError('NOT_FOUND', 'console bundle not built (npm run build)');
    return reply.header('cache-control', 'no-cache').type(type === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8').send(body);
  });
}

function sessionBody(session: AdminSession) {
  return { subject: session.subject, expiresAt: new Date(session.expiresAt).toISOString(), csrf: session.csrf };
}
