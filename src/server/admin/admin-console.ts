/**
 * Folder admin/: the operator console — its credentials and sessions, the cluster-wide admin bus over the broker, and
 * the event tail. It may import config, engine contracts, hub (read-only views), observability and webhooks events.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Broker } from '../engine/broker/broker.js';
import type { Registry } from '../engine/registry/registry.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { LifecycleEvents } from '../webhooks/lifecycle-events.js';
import { AdminBus } from './admin-bus.js';
import { AdminCredentials } from './admin-credentials.js';
import { AdminSessions } from './admin-sessions.js';
import { EventTail } from './event-tail.js';

/** How long one announcement of a tail holds on the other nodes; renewed at a third of it. */
const TAIL_LEASE_MS = 15_000;

/**
 * The operator console's node-side state: who may log in, console sessions, the node-to-node bus, and the live tail
 * of lifecycle events. The tail taps this node's events only while a console follows them (here or on another node),
 * so a node nobody watches builds no events for it.
 */
export class AdminConsole {
  readonly credentials: AdminCredentials;
  readonly sessions: AdminSessions;
  readonly bus: AdminBus;
  readonly tail = new EventTail();
  /** The key the console's actions use on this node's own server API (never leaves the process). */
  readonly apiKey = randomBytes(32).toString('base64url');
  private untap?: () => void;
  private tailTimer?: NodeJS.Timeout;

  constructor(
    config: Readonly<Config['admin']>,
    private readonly nodeId: string,
    broker: Broker,
    hub: Pick<Hub, 'sessions'>,
    private readonly registry: Pick<Registry, 'liveNodes'>,
    private readonly events: LifecycleEvents,
    private readonly logger: Logger,
  ) {
    this.credentials = new AdminCredentials(config);
    this.sessions = new AdminSessions(this.credentials.signingKey, config.sessionSeconds * 1000);
    this.bus = new AdminBus(nodeId, broker, hub, logger);
    this.bus.receiveEvents((event) => this.tail.push(event));
    // Events from the moment another node's console asks for them, not from this node's next periodic check.
    this.bus.receiveTailRequests(() => this.updateTap());
  }

  async start(): Promise<void> {
    await this.bus.start();
    // Taps while anyone watches: this node's followers, or another node's (their announcements arrive by the bus).
    this.tailTimer = setInterval(() => this.retap(), TAIL_LEASE_MS / 3);
    this.tailTimer.unref();
  }

  /** Follows the tail for one stream; returns the function that stops following. */
  follow(listener: Parameters<EventTail['follow']>[0]): () => void {
    const stop = this.tail.follow(listener);
    this.retap();
    return () => {
      stop();
      this.retap();
    };
  }

  private retap(): void {
    this.updateTap();
    if (this.tail.followers > 0) {
      this.registry.liveNodes().then(
        (nodes) => this.bus.announceTail(nodes.map((node) => node.node).filter((node) => node !== this.nodeId), TAIL_LEASE_MS),
        (error: unknown) => this.logger.debug({ err: error }, 'could not announce the console tail'),
      );
    }
  }

  /** Taps this node's events while anyone watches them; never announces (a request must not answer with one). */
  private updateTap(): void {
    const watched = this.tail.followers > 0 || this.bus.tailing;
    if (watched && !this.untap) {
      this.untap = this.events.tap((event) => {
        if (this.tail.followers > 0) this.tail.push(event);
        this.bus.forward(event);
      });
    } else if (!watched && this.untap) {
      this.untap();
      this.untap = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.tailTimer);
    this.untap?.();
    await this.bus.close();
  }
}
