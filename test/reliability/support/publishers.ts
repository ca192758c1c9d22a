import WebSocket from 'ws';
import { WsgateClient } from '../../../src/client/index.js';
import type { WebSocketConstructor } from '../../../src/client/index.js';
import { API_KEY, type NodeProcess } from '../../cluster/support/node.js';
import type { Ledger, Position } from './ledger.js';
import { mintTicket, RawSession } from './raw-session.js';

/** A position, or why the gateway gave none (the outcome is then unknown: the publication may exist). */
export type PublishOutcome = { accepted: Position } | { failed: string };

/** One way of publishing; several requests may be in flight at once. */
export interface Publisher {
  readonly label: string;
  publish(channel: string, data: unknown): Promise<PublishOutcome>;
  close(): void;
}

/**
 * `POST /api/publish` straight to one node (a backend that knows its node); when that node is gone, the next live one.
 */
export function apiPublisher(label: string, nodes: readonly NodeProcess[], first: number, isAlive: (node: NodeProcess) => boolean): Publisher {
  let index = first;
  return {
    label,
    async publish(channel, data) {
      for (let tried = 0; !isAlive(nodes[index % nodes.length]!) && tried < nodes.length; tried++) index++;
      const node = nodes[index % nodes.length]!;
      try {
        const response = await fetch(`${node.httpUrl}/api/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ channel, data }),
          signal: AbortSignal.timeout(8_000),
        });
        const body = (await response.json().catch(() => ({}))) as { offset?: number; epoch?: string; code?: string };
        if (response.status !== 200 || typeof body.offset !== 'number' || typeof body.epoch !== 'string') return { failed: `HTTP ${response.status} ${body.code ?? ''}`.trim() };
        return { accepted: { offset: body.offset, epoch: body.epoch } };
      } catch (error) {
        return { failed: `${node.nodeId}: ${(error as Error).name}` };
      }
    },
    close() {},
  };
}

/** A raw protocol session that publishes with `publish` frames through the balancer (reconnecting when its node dies). */
export function rawPublisher(label: string, balancerHttpUrl: string): Publisher & { connected(): Promise<void> } {
  const session = new RawSession(label, balancerHttpUrl, label, { onWelcome() {}, onFrame() {} });
  session.start();
  const connected = () => (session.connected ? Promise.resolve() : session.welcomed().then(() => {}));
  return {
    label,
    connected,
    async publish(channel, data) {
      await connected();
      const outcome = await session.request({ type: 'publish', channel, data });
      if ('failed' in outcome) return outcome;
      return { accepted: { offset: Number(outcome.reply.offset), epoch: String(outcome.reply.epoch) } };
    },
    close: () => session.close(),
  };
}

/** The client SDK's `publish` (Node 24's global WebSocket), through the balancer. */
export function sdkPublisher(label: string, balancerHttpUrl: string): Publisher & { connected(): Promise<void> } {
  const client = new WsgateClient({
    url: `${balancerHttpUrl.replace(/^http/, 'ws')}/ws`,
    WebSocket: (globalThis.WebSocket ?? WebSocket) as unknown as WebSocketConstructor,
    getTicket: () => mintTicket(balancerHttpUrl, label),
    backoff: { minDelay: 50, maxDelay: 500 },
    connectTimeout: 5_000,
  });
  client.on('error', () => {});
  client.connect();
  return {
    label,
    connected: () =>
      client.status.type === 'connected'
        ? Promise.resolve()
        : new Promise((resolve) => {
            const off = client.on('status', (status) => {
              if (status.type !== 'connected') return;
              off();
              resolve();
            });
          }),
    async publish(channel, data) {
      try {
        return { accepted: await client.publish(channel, data, { timeout: 8_000 }) };
      } catch (error) {
        return { failed: String((error as { code?: string }).code ?? error) };
      }
    },
    close: () => client.disconnect(),
  };
}

export interface BatchOptions {
  /** Publications each publisher sends. */
  perPublisher: number;
  /** Requests each publisher keeps in flight. */
  concurrency: number;
  channels: readonly string[];
  /** Bytes of padding in each payload. */
  pad?: number;
  /** Ends the batch early (the remaining workers stop after their request in flight). */
  stop?: () => boolean;
}

let batches = 0;

/**
 * Every publisher sends `perPublisher` publications, `concurrency` at a time, spread over `channels`; each attempt and
 * its outcome go into the ledger. Resolves when all have an outcome.
 */
export async function publishBatch(ledger: Ledger, publishers: readonly Publisher[], options: BatchOptions): Promise<void> {
  const batch = ++batches;
  const pad = options.pad ? 'x'.repeat(options.pad) : undefined;
  await Promise.all(
    publishers.map(async (publisher) => {
      let next = 0;
      const worker = async () => {
        while (next < options.perPublisher && !options.stop?.()) {
          const n = next++;
          const channel = options.channels[n % options.channels.length]!;
          const id = `${publisher.label}/${batch}/${n}`;
          const attempt = ledger.attempt(id, channel, publisher.label);
          const outcome = await publisher.publish(channel, pad ? { id, pad } : { id });
          if ('accepted' in outcome) ledger.accept(attempt, outcome.accepted);
          else ledger.fail(attempt, outcome.failed);
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
    }),
  );
}
