import { TypePatterns } from './type-patterns.js';

/** A backend that owns the action types matching `match` (`*` matches any characters: `order.*`, `CHAT_*`). */
export interface ActionRoute {
  match: string;
  url: string;
  /** Sent as `Authorization: Bearer` so the backend can tell the gateway's calls from others. */
  apiKey: string;
  timeoutMs: number;
}

/**
 * The action routes of one source (the configuration, or what backends registered) and the route of an action type:
 * the first matching route in the table's order (configuration order, or registration order) wins.
 */
export class ActionRouteTable extends TypePatterns<ActionRoute> {}
