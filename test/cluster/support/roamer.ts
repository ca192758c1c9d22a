import WebSocket from 'ws';
import { WsgateClient } from '../../../src/client/index.js';
import type { ClientStatus, WebSocketConstructor } from '../../../src/client/index.js';
import { within } from '../../support/wait.js';
import { API_KEY } from './node.js';

/** How long a roamer's wait may take before it fails with what the roamer saw. */
const WAIT_MS = 30_000;

function describe(statuses: readonly ClientStatus[]): string {
  return statuses.slice(-8).map((status) => ('node' in status && status.node ? `${status.type}@${String(status.node)}` : status.type)).join(' > ');
}

/** A client-SDK user that reaches the cluster only through the load balancer, and what it has seen. */
export interface Roamer {
  readonly client: WsgateClient;
  readonly user: string;
  /** Every status the client went through. */
  readonly statuses: ClientStatus[];
  /** `data.seq` of every message received in the channel, in arrival order (replays included). */
  readonly seqs: number[];
  /** Resolves with the next `connected` status whose node is not `notOn` (any node when omitted); rejects after 30 s. */
  connectedElsewhere(notOn?: string): Promise<ClientStatus & { type: 'connected' }>;
  /** Resolves once `seq` has arrived; rejects after 30 s, naming what did. */
  hasSeen(seq: number): Promise<void>;
  /**
   * Resolves once the channel's subscription is active (the gateway answered `subscribed`); rejects after 30 s.
   * `connected` comes first: a publication sent between the two is not owed to a new subscription.
   */
  subscribed(): Promise<void>;
}

/**
 * A WsgateClient (with `ws`) for `user` that gets a fresh ticket from the balancer's server API before every attempt
 * and subscribes to `channel`; short backoff so reconnects happen within the test's time.
 */
export function startRoamer(balancerHttpUrl: string, user: string, channel: string): Roamer {
  const client = new WsgateClient({
    url: `${balancerHttpUrl.replace(/^http/, 'ws')}/ws`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    getTicket: async () => {
      const response = await fetch(`${balancerHttpUrl}/api/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user }),
      });
      if (!response.ok) throw new Error(`ticket: HTTP ${response.status}`);
      return ((await response.json()) as { ticket: string }).ticket;
    },
    backoff: { minDelay: 100, maxDelay: 1_000 },
    connectTimeout: 5_000,
  });
  const statuses: ClientStatus[] = [];
  const seqs: number[] = [];
  const statusWaiters: Array<(status: ClientStatus) => void> = [];
  const seqWaiters: Array<() => void> = [];
  const subscribedWaiters: Array<() => void> = [];
  client.on('status', (status) => {
    statuses.push(status);
    for (const waiter of [...statusWaiters]) waiter(status);
  });
  client.on('error', () => {
    // Failed attempts while a node is gone are expected; the statuses tell the story.
  });
  const subscription = client.subscribe<{ seq: number }>(channel);
  subscription.on('message', ({ data }) => {
    seqs.push(data.seq);
    for (const waiter of [...seqWaiters]) waiter();
  });
  subscription.on('subscribed', () => {
    for (const waiter of subscribedWaiters.splice(0)) waiter();
  });
  client.connect();

  return {
    client,
    user,
    statuses,
    seqs,
    connectedElsewhere(notOn) {
      const matches = (status: ClientStatus): status is ClientStatus & { type: 'connected' } => status.type === 'connected' && status.node !== notOn;
      const current = client.status;
      if (matches(current)) return Promise.resolve(current);
      const connected = new Promise<ClientStatus & { type: 'connected' }>((resolve) => {
        const waiter = (status: ClientStatus) => {
          if (!matches(status)) return;
          statusWaiters.splice(statusWaiters.indexOf(waiter), 1);
          resolve(status);
        };
        statusWaiters.push(waiter);
      });
      return within(connected, WAIT_MS, () => `${user} connected elsewhere than ${notOn ?? 'nowhere'} (statuses: ${describe(statuses)})`);
    },
    hasSeen(seq) {
      if (seqs.includes(seq)) return Promise.resolve();
      const seen = new Promise<void>((resolve) => {
        const waiter = () => {
          if (!seqs.includes(seq)) return;
          seqWaiters.splice(seqWaiters.indexOf(waiter), 1);
          resolve();
        };
        seqWaiters.push(waiter);
      });
      return within(seen, WAIT_MS, () => `${user} to see seq ${seq} (seen: ${seqs.join(',')}; statuses: ${describe(statuses)})`);
    },
    subscribed() {
      if (subscription.state === 'subscribed') return Promise.resolve();
      const active = new Promise<void>((resolve) => subscribedWaiters.push(resolve));
      return within(active, WAIT_MS, () => `${user}'s subscription to ${channel} (state ${subscription.state}; statuses: ${describe(statuses)})`);
    },
  };
}
