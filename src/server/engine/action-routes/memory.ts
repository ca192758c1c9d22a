import { LRUCache } from 'lru-cache';
import { systemClock, type Clock } from '../../time/clock.js';
import { routeKey, type ActionRouteStore, type RegisteredRoute } from './action-routes.js';

/** Routes kept at most; far more than backends register, it only bounds a runaway registration loop. */
const MAX_ROUTES = 10_000;

/**
 * Registered routes in process memory, shared by the nodes of one MemoryCluster. Each route lives for its TTL on the
 * `clock`.
 */
export class MemoryActionRouteStore implements ActionRouteStore {
  private readonly routes: LRUCache<string, RegisteredRoute>;
  private readonly now: Clock;

  constructor({ maxRoutes = MAX_ROUTES, clock = systemClock }: { maxRoutes?: number; clock?: Clock } = {}) {
    this.now = clock;
    this.routes = new LRUCache({ max: maxRoutes, perf: { now: clock }, ttlResolution: 0 });
  }

  async put(route: RegisteredRoute, ttlMs: number): Promise<void> {
    const key = routeKey(route.match, route.url);
    const existing = this.routes.get(key);
    const ttl = Math.max(1, ttlMs);
    this.routes.set(key, { ...route, registeredAt: existing?.registeredAt ?? route.registeredAt, expiresAt: this.now() + ttl }, { ttl });
  }

  async remove(match: string, url: string): Promise<boolean> {
    const key = routeKey(match, url);
    const existed = this.routes.get(key) !== undefined;
    this.routes.delete(key);
    return existed;
  }

  async list(): Promise<RegisteredRoute[]> {
    // values() skips lapsed routes; they are dropped when the cache needs their room.
    return [...this.routes.values()].sort((a, b) => a.registeredAt - b.registeredAt);
  }
}
