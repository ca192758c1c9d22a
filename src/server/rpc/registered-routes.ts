import type { ActionRouteStore, RegisteredRoute } from '../engine/action-routes/action-routes.js';
import type { Logger } from '../observability/logger.js';
import { ActionRoutes, type ActionRoute } from './action-routes.js';

/**
 * The routes backends registered, as this node sees them: read from the engine at most once per `maxAgeMs`, so a
 * registration made on any node takes effect everywhere within that time. When the store cannot be read the last
 * table stays in use.
 */
export class RegisteredRoutes {
  private table = new ActionRoutes([]);
  private fetchedAt = 0;
  private refreshing?: Promise<void>;

  constructor(private readonly store: ActionRouteStore, private readonly logger: Logger, private readonly maxAgeMs = 1_000) {}

  async lookup(type: string): Promise<ActionRoute | null> {
    if (Date.now() - this.fetchedAt > this.maxAgeMs) await this.refresh();
    return this.table.lookup(type);
  }

  /** A backend registers a route for every node; it lapses unless registered again within `ttlMs`. */
  async register(route: RegisteredRoute, ttlMs: number): Promise<void> {
    await this.store.put(route, ttlMs);
    this.invalidate();
  }

  /** A backend takes its route back; false when there was none. */
  async remove(match: string, url: string): Promise<boolean> {
    const removed = await this.store.remove(match, url);
    this.invalidate();
    return removed;
  }

  /** Every route registered across the cluster, as the store holds it now. */
  list(): Promise<RegisteredRoute[]> {
    return this.store.list();
  }

  /** Forgets the table, so the next lookup reads the store (after a registration on this node). */
  invalidate(): void {
    this.fetchedAt = 0;
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.store
      .list()
      .then(
        (routes) => {
          this.table = new ActionRoutes(routes);
        },
        (error: unknown) => this.logger.warn({ err: error }, 'could not read registered action routes'),
      )
      .finally(() => {
        this.fetchedAt = Date.now();
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
