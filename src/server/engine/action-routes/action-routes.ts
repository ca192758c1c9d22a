/**
 * ActionRouteStore: the routes backends register at run time ("procedure discovery"), shared by every node. A route
 * lives for its TTL; a backend keeps it by registering again before then, so a backend that dies drops out by itself.
 *
 * Guarantee: `put` replaces the route with the same `match` and `url`; `list` returns only live routes, oldest
 * registration first (the order in which they are tried after the configured routes).
 */
export interface ActionRouteStore {
  put(route: RegisteredRoute, ttlMs: number): Promise<void>;
  /** False when no such route was registered. */
  remove(match: string, url: string): Promise<boolean>;
  list(): Promise<RegisteredRoute[]>;
}

export interface RegisteredRoute {
  match: string;
  url: string;
  apiKey: string;
  timeoutMs: number;
  /** Epoch milliseconds of the first registration (renewals keep it). */
  registeredAt: number;
  /** Epoch milliseconds when the route lapses unless renewed. */
  expiresAt: number;
}

/** The one key of a route per (match, url), in every store: a backend renewing its registration replaces it. */
export function routeKey(match: string, url: string): string {
  return `${match}\n${url}`;
}
