import { Gateway, type GatewayOptions } from '../../src/server/gateway.js';
import { deepMerge, loadConfig } from '../../src/server/config/load.js';
import type { Config } from '../../src/server/config/schema.js';

export const API_KEY = 'test-api-key-0123456789';
export const JWT_SECRET = 'test-jwt-secret-0123456789';
export const COOKIE_SECRET = 'test-cookie-secret-0123456789';

/** Config overrides: any subset, at any depth; list items may leave out keys that have defaults. */
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends ReadonlyArray<infer U> ? Array<U extends object ? DeepPartial<U> : U> : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The configuration tests start from: port 0, quiet logs, a few namespaces, fast pings. */
export function testConfig(overrides: DeepPartial<Config> = {}): Readonly<Config> {
  const base: DeepPartial<Config> = {
    port: 0,
    host: '127.0.0.1',
    log: { level: 'silent' },
    apiKeys: [API_KEY],
    allowedOrigins: ['http://app.example'],
    auth: {
      anonymous: true,
      jwt: { secrets: [JWT_SECRET] },
      cookie: { secrets: [COOKIE_SECRET] },
    },
    namespaces: {
      chat: { presence: true, publish: true, history: { size: 50, ttlSeconds: 60 } },
      org: { private: true, allow: ['org:{claims.org}', 'org:{claims.org}/*'], presence: true, publish: true },
      news: { publish: false },
    },
    drain: { timeoutMs: 5_000, batchIntervalMs: 0, reconnectSpreadMs: 1_000 },
    directMessages: { allow: ['*'], revealSessions: true },
  };
  return loadConfig({ overrides: deepMerge(base, overrides) as Record<string, unknown> });
}

export interface RunningGateway {
  gateway: Gateway;
  port: number;
  /** `ws://127.0.0.1:port/ws` */
  wsUrl: string;
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(overrides: DeepPartial<Config> = {}, options: GatewayOptions = {}): Promise<RunningGateway> {
  const gateway = await Gateway.create(testConfig(overrides), options);
  const address = await gateway.listen();
  return {
    gateway,
    port: address.port,
    wsUrl: `ws://127.0.0.1:${address.port}/ws`,
    httpUrl: `http://127.0.0.1:${address.port}`,
    stop: () => gateway.stop(),
  };
}

/** Mints a ticket through the server API. */
export async function mintTicket(running: RunningGateway, user: string | null, claims: Record<string, unknown> = {}, ttlSeconds?: number): Promise<string> {
  const response = await fetch(`${running.httpUrl}/api/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user, claims, ...(ttlSeconds ? { ttlSeconds } : {}) }),
  });
  if (!response.ok) throw new Error(`ticket: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { ticket: string }).ticket;
}
