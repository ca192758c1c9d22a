/** A backend that owns the action types matching `match` (`*` matches any characters: `order.*`, `CHAT_*`). */
export interface ActionRoute {
  match: string;
  url: string;
  /** Sent as `Authorization: Bearer` so the backend can tell the gateway's calls from others. */
  apiKey: string;
  timeoutMs: number;
}

/** Finds the route of an action type; the first matching route in configuration order wins. */
export class ActionRoutes {
  private readonly compiled: Array<{ route: ActionRoute; pattern: RegExp }>;
  private readonly cache = new Map<string, ActionRoute | null>();

  constructor(routes: readonly ActionRoute[]) {
    this.compiled = routes.map((route) => ({
      route,
      pattern: new RegExp(`^${route.match.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`),
    }));
  }

  lookup(type: string): ActionRoute | null {
    let route = this.cache.get(type);
    if (route === undefined) {
      route = this.compiled.find((entry) => entry.pattern.test(type))?.route ?? null;
      // Types come from clients: bound the cache so a client inventing types cannot grow it.
      if (this.cache.size < 10_000) this.cache.set(type, route);
    }
    return route;
  }

  get size(): number {
    return this.compiled.length;
  }
}
