import type { RedisKeyspace } from '../keyspace/keyspace.js';
import { LuaScript } from '../keyspace/lua-script.js';
import { RoutingTag } from '../keyspace/tags.js';
import { routeKey, type ActionRouteStore, type RegisteredRoute } from './action-routes.js';

/** Sets the route, keeping the first registration time of a route that is renewed. */
const PUT = new LuaScript(`local previous = redis.call('HGET', KEYS[1], ARGV[1])
local route = cjson.decode(ARGV[2])
if previous then
  local old = cjson.decode(previous)
  if old.expiresAt > tonumber(ARGV[3]) then route.registeredAt = old.registeredAt end
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(route))
return 1`);

/**
 * Registered routes in one Redis hash, `{routes}:actions` (field `match\\nurl`, value the route with its expiry). Reads
 * skip lapsed routes and delete them, so the hash does not grow with dead backends.
 */
export class RedisActionRouteStore implements ActionRouteStore {
  private readonly tag = RoutingTag.actionRoutes();

  constructor(private readonly keyspace: RedisKeyspace) {}

  private get key(): string {
    return this.keyspace.key(this.tag, 'actions');
  }

  async put(route: RegisteredRoute, ttlMs: number): Promise<void> {
    const now = Date.now();
    const stored: RegisteredRoute = { ...route, expiresAt: now + ttlMs };
    await PUT.run(this.keyspace.client(this.tag), [this.key], [routeKey(route.match, route.url), JSON.stringify(stored), now]);
  }

  async remove(match: string, url: string): Promise<boolean> {
    const raw = await this.keyspace.client(this.tag).hget(this.key, routeKey(match, url));
    await this.keyspace.client(this.tag).hdel(this.key, routeKey(match, url));
    return raw !== null && (JSON.parse(raw) as RegisteredRoute).expiresAt > Date.now();
  }

  async list(): Promise<RegisteredRoute[]> {
    const client = this.keyspace.client(this.tag);
    const entries = await client.hgetall(this.key);
    const now = Date.now();
    const live: RegisteredRoute[] = [];
    const lapsed: string[] = [];
    for (const [field, raw] of Object.entries(entries)) {
      const route = JSON.parse(raw) as RegisteredRoute;
      if (route.expiresAt > now) live.push(route);
      else lapsed.push(field);
    }
    if (lapsed.length > 0) await client.hdel(this.key, ...lapsed);
    return live.sort((a, b) => a.registeredAt - b.registeredAt);
  }
}
