import type { AdminConsole } from '../admin/admin-console.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { OriginPolicy } from '../auth/origin-policy.js';
import type { TicketService } from '../auth/ticket-service.js';
import type { ChannelRules } from '../channels/channel-rules.js';
import type { ChannelService } from '../channels/channel-service.js';
import type { ClusterState } from '../cluster/cluster-state.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { DeliveryService } from '../hub/delivery.js';
import type { Hub } from '../hub/hub.js';
import type { InboxDispatcher } from '../hub/inbox.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { SessionLifecycle } from '../session/session-lifecycle.js';
import type { RegisteredRoutes } from '../rpc/registered-routes.js';
import type { Webhooks } from '../webhooks/webhooks.js';
import type { ClientAddresses } from '../transport/client-address.js';
import type { TlsFiles } from '../transport/tls-files.js';

/** What the HTTP routes may use of the node. */
export interface GatewayContext {
  readonly config: Readonly<Config>;
  readonly nodeId: string;
  readonly startedAt: number;
  readonly engine: Engine;
  readonly hub: Hub;
  readonly delivery: DeliveryService;
  readonly channels: ChannelService;
  readonly rules: ChannelRules;
  readonly lifecycle: SessionLifecycle;
  readonly inbox: InboxDispatcher;
  readonly tickets: TicketService;
  readonly authenticator: Authenticator;
  readonly origins: OriginPolicy;
  readonly metrics: Metrics;
  readonly registeredRoutes: RegisteredRoutes;
  readonly webhooks: Webhooks;
  /** This node's part of the cluster-wide state; absent with `cluster.state` off. */
  readonly clusterState?: ClusterState;
  /** The operator console; absent unless `admin.enabled`. */
  readonly admin?: AdminConsole;
  readonly logger: Logger;
  /** Real client addresses behind trusted proxies. */
  readonly clientAddresses: ClientAddresses;
  /** The node's own certificate, when it terminates TLS. */
  readonly tls: TlsFiles;
  /** True from the first shutdown signal on. */
  isDraining(): boolean;
}
