import type { ActionRouteStore, RegisteredRoute } from './action-routes.js';

/** Registered routes in process memory, shared by the nodes of one MemoryCluster. */
export class MemoryActionRouteStore implements ActionRouteStore {
  private readonly routes = new Map<string, RegisteredRoute>();

  async put(route: RegisteredRoute, ttlMs: number): Promise<void> {
    const key = routeKey(route.match, route.url);
    const existing = this.live(key);
    this.routes.set(key, { ...route, registeredAt: existing?.registeredAt ?? route.registeredAt, expiresAt: Date.now() + ttlMs });
  }

  async remove(match: string, url: string): Promise<boolean> {
    const key = routeKey(match, url);
    const existed = this.live(key) !== undefined;
    this.routes.delete(key);
    return existed;
  }

  async list(): Promise<RegisteredRoute[]> {
    return [...this.routes.keys()]
      .map((key) => this.live(key))
      .filter((route): route is RegisteredRoute => route !== undefined)
      .sort((a, b) => a.registeredAt - b.registeredAt);
  }

  private live(key: string): RegisteredRoute | undefined {
    const route = this.routes.get(key);
    if (route && route.expiresAt <= Date.now()) {
      this.routes.delete(key);
      return undefined;
    }
    return route;
  }
}

/** One route per (match, url): a backend renewing its registration replaces it. */
export function routeKey(match: string, url: string): string {
  return `${match}\n${url}`;
}
