import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminConsole } from '../admin/admin-console.js';
import type { ClientFramePosts } from '../node/client-frame-posts.js';
import type { StreamFraming } from '../transport/http-stream-transport.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { OriginPolicy } from '../auth/origin-policy.js';
import type { TicketService } from '../auth/ticket-service.js';
import type { ChannelRules } from '../channels/channel-rules.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { NodeCommands } from '../node/node-commands.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { RegisteredRoutes } from '../rpc/registered-routes.js';
import type { Webhooks } from '../webhooks/webhooks.js';
import type { ClientAddresses } from '../transport/client-address.js';
import type { TlsFiles } from '../transport/tls-files.js';

/**
 * What the HTTP routes use of the node. Routes parse, call `commands` (or the auth, webhook and route-table services)
 * and answer; the engine is reachable only for what HTTP itself needs: health, per-key rate limits and idempotency
 * keys.
 */
export interface GatewayContext {
  readonly config: Readonly<Config>;
  readonly nodeId: string;
  readonly startedAt: number;
  readonly engine: Pick<Engine, 'kind' | 'isHealthy' | 'rateLimits' | 'idempotency'>;
  /** What the node does on request: sends, subscriptions, disconnects, publications, presence, history, revocations. */
  readonly commands: NodeCommands;
  /** Namespace rules, for the routes' checks of channel names. */
  readonly rules: ChannelRules;
  readonly tickets: TicketService;
  readonly authenticator: Authenticator;
  readonly origins: OriginPolicy;
  readonly metrics: Metrics;
  readonly registeredRoutes: RegisteredRoutes;
  readonly webhooks: Webhooks;
  /** The operator console; absent unless `admin.enabled`. */
  readonly admin?: AdminConsole;
  readonly logger: Logger;
  /** Real client addresses behind trusted proxies. */
  readonly clientAddresses: ClientAddresses;
  /** The node's own certificate, when it terminates TLS. */
  readonly tls: TlsFiles;
  /** True from the first shutdown signal on. */
  isDraining(): boolean;
  /**
   * Opens a session on a streaming response (`framing`: SSE or JSON lines) after the same admission and
   * authentication as a WebSocket handshake; a refusal is answered on `res`. The response is the session's from then on.
   */
  openStream(req: IncomingMessage, res: ServerResponse, framing: StreamFraming, path: string): Promise<void>;
  /** Client frames of streaming sessions, posted to any node. */
  readonly clientFramePosts: Pick<ClientFramePosts, 'accept'>;
}
