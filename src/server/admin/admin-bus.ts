import { randomBytes } from 'node:crypto';
import type { Broker } from '../engine/broker/broker.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../observability/logger.js';
import type { TappedEvent } from './event-tail.js';

/** Broker channels of the console's node-to-node requests; no client channel can have this name (no `:`). */
export const ADMIN_BUS_PREFIX = '__wsgate-admin.';

/** What only the node holding a session knows of it. */
export interface SessionDetails {
  session: string;
  protocol: string;
  transport: 'websocket' | 'sse' | 'http-stream';
  subscriptions: string[];
  bufferedBytes: number;
  lastSeenAt: string;
}

type BusMessage =
  | { kind: 'describe'; id: string; from: string; sessions: string[] }
  | { kind: 'described'; id: string; sessions: SessionDetails[] }
  /** `from` has a console tailing events until `until` (epoch ms): send it this node's events meanwhile. */
  | { kind: 'tail'; from: string; until: number }
  | { kind: 'event'; event: TappedEvent };

/**
 * The console's requests between nodes, over the broker (each node subscribes its own admin channel only while the
 * console is enabled): session details from the node that holds them, and lifecycle events for a node whose
 * console tails them. Best effort: a node that does not answer in time is reported as such, nothing waits longer.
 */
export class AdminBus {
  private readonly pending = new Map<string, (sessions: SessionDetails[]) => void>();
  /** Nodes with a console tailing events, and until when. */
  private readonly tails = new Map<string, number>();
  private onEvent: (event: TappedEvent) => void = () => {};
  private onTailRequest: () => void = () => {};

  constructor(
    private readonly nodeId: string,
    private readonly broker: Broker,
    private readonly hub: Pick<Hub, 'sessions'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  static channelOf(node: string): string {
    return `${ADMIN_BUS_PREFIX}${node}`;
  }

  start(): Promise<void> {
    return this.broker.subscribe(AdminBus.channelOf(this.nodeId));
  }

  /** Where events other nodes send for this node's tails go. */
  receiveEvents(listener: (event: TappedEvent) => void): void {
    this.onEvent = listener;
  }

  /** Told when another node's console starts (or keeps) tailing this node's events, so the tap starts at once. */
  receiveTailRequests(listener: () => void): void {
    this.onTailRequest = listener;
  }

  handle(payload: Buffer): void {
    let message: BusMessage;
    try {
      message = JSON.parse(payload.toString('utf8')) as BusMessage;
    } catch {
      return;
    }
    switch (message.kind) {
      case 'describe':
        this.send(message.from, { kind: 'described', id: message.id, sessions: this.describeLocal(message.sessions) });
        break;
      case 'described':
        this.pending.get(message.id)?.(message.sessions);
        break;
      case 'tail':
        if (message.from === this.nodeId) break;
        this.tails.set(message.from, message.until);
        this.onTailRequest();
        break;
      case 'event':
        this.onEvent(message.event);
        break;
    }
  }

  /** Details of sessions this node holds (those it does not are left out). */
  describeLocal(ids: readonly string[]): SessionDetails[] {
    return ids.flatMap((id) => {
      const session = this.hub.sessions.get(id);
      if (!session) return [];
      const connection = session.describeConnection();
      return [{
        session: id, protocol: session.protocol, transport: connection.transport, subscriptions: [...session.subscriptions.keys()].sort(),
        bufferedBytes: connection.bufferedBytes, lastSeenAt: new Date(connection.lastSeen).toISOString(),
      }];
    });
  }

  /** Asks `node` for details of `sessions`; null when it does not answer within `timeoutMs`. */
  describe(node: string, sessions: readonly string[], timeoutMs: number): Promise<SessionDetails[] | null> {
    if (node === this.nodeId) return Promise.resolve(this.describeLocal(sessions));
    const id = randomBytes(8).toString('base64url');
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (result: SessionDetails[] | null) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(result);
      };
      this.pending.set(id, finish);
      this.send(node, { kind: 'describe', id, from: this.nodeId, sessions: [...sessions] });
    });
  }

  /** Tells `nodes` this node tails events for `forMs` more. */
  announceTail(nodes: readonly string[], forMs: number): void {
    const until = this.now() + forMs;
    for (const node of nodes) if (node !== this.nodeId) this.send(node, { kind: 'tail', from: this.nodeId, until });
  }

  /** Sends one of this node's events to every node whose console tails them. */
  forward(event: TappedEvent): void {
    if (this.tails.size === 0) return;
    const now = this.now();
    for (const [node, until] of this.tails) {
      if (until < now) this.tails.delete(node);
      else this.send(node, { kind: 'event', event });
    }
  }

  /** True while some node's console tails this node's events. */
  get tailing(): boolean {
    const now = this.now();
    for (const [node, until] of this.tails) if (until < now) this.tails.delete(node);
    return this.tails.size > 0;
  }

  private send(node: string, message: BusMessage): void {
    this.broker.publish(AdminBus.channelOf(node), Buffer.from(JSON.stringify(message))).catch((error: unknown) => {
      this.logger.debug({ err: error, node }, 'console message not sent');
    });
  }

  async close(): Promise<void> {
    for (const finish of this.pending.values()) finish([]);
    await this.broker.unsubscribe(AdminBus.channelOf(this.nodeId)).catch(() => {});
  }
}
