import type { ActionRouteStore, RegisteredRoute } from '../engine/action-routes/action-routes.js';
import type { Logger } from '../observability/logger.js';
import { systemClock, type Clock } from '../time/clock.js';
import { ActionRouteTable, type ActionRoute } from './action-route-table.js';

/**
 * The routes backends registered, as this node sees them: read from the engine at most once per `maxAgeMs`, so a
 * registration made on any node takes effect everywhere within that time (on `clock`). When the store cannot be read
 * the last table stays in use.
 */
export class RegisteredRoutes {
  private table = new ActionRouteTable([]);
  private fetchedAt = 0;
  private refreshing?: Promise<void>;

  private readonly maxAgeMs: number;
  private readonly now: Clock;

  constructor(private readonly store: ActionRouteStore, private readonly logger: Logger, { maxAgeMs = 1_000, clock = systemClock }: { maxAgeMs?: number; clock?: Clock } = {}) {
    this.maxAgeMs = maxAgeMs;
    this.now = clock;
  }

  async lookup(type: string): Promise<ActionRoute | null> {
    if (this.now() - this.fetchedAt > this.maxAgeMs) await this.refresh();
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
          this.table = new ActionRouteTable(routes);
        },
        (error: unknown) => this.logger.warn({ err: error }, 'could not read registered action routes'),
      )
      .finally(() => {
        this.fetchedAt = this.now();
        this.refreshing = undefined;
      });
    return this.refreshing;
  }
}
