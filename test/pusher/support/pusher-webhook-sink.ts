import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Pusher from 'pusher';
import { within } from '../../support/wait.js';

/** One webhook request as the sink saw it: whether the SDK found it valid, its events, and what the sink answered. */
export interface SinkRequest {
  valid: boolean;
  headers: IncomingHttpHeaders;
  timeMs: number;
  events: Array<Record<string, unknown>>;
  status: number;
}

/**
 * A real HTTP receiver of Pusher webhooks: every request is checked with the `pusher` SDK's own `webhook(req)` helper
 * (key and signature of the app), then answered with the status `answer` picks (200 unless told otherwise).
 */
export class PusherWebhookSink {
  readonly requests: SinkRequest[] = [];
  private readonly server: Server;
  private readonly arrivals = new Set<() => void>();
  url = '';

  private constructor(private readonly sdk: Pusher, private readonly answer: (index: number) => number) {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        const webhook = this.sdk.webhook({ headers: request.headers as Record<string, string>, rawBody });
        const valid = webhook.isValid();
        const status = valid ? this.answer(this.requests.length) : 401;
        this.requests.push({
          valid, headers: request.headers, status,
          timeMs: valid ? webhook.getTime().getTime() : 0,
          events: valid ? (webhook.getEvents() as unknown as Array<Record<string, unknown>>) : [],
        });
        response.writeHead(status).end();
        for (const arrival of [...this.arrivals]) arrival();
      });
    });
  }

  static async start(sdk: Pusher, answer: (index: number) => number = () => 200): Promise<PusherWebhookSink> {
    const sink = new PusherWebhookSink(sdk, answer);
    sink.server.listen(0, '127.0.0.1');
    await once(sink.server, 'listening');
    sink.url = `http://127.0.0.1:${(sink.server.address() as AddressInfo).port}/`;
    return sink;
  }

  /** The events of the requests the sink took (answered 2xx), in the order they arrived. */
  delivered(): Array<Record<string, unknown>> {
    return this.requests.filter((request) => request.status < 300).flatMap((request) => request.events);
  }

  /** Resolves once a taken request held an event that `match`es (one already taken counts). */
  waitForEvent(match: (event: Record<string, unknown>) => boolean, label: string, timeoutMs = 10_000): Promise<void> {
    return this.waitUntil(() => this.delivered().some(match), label, timeoutMs);
  }

  /** Resolves once `condition` holds, looked at again on each request that arrives. */
  waitUntil(condition: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
    let arrival!: () => void;
    const arrived = new Promise<void>((resolve) => {
      arrival = () => {
        if (!condition()) return;
        this.arrivals.delete(arrival);
        resolve();
      };
      this.arrivals.add(arrival);
      arrival();
    });
    return within(arrived, timeoutMs, label).finally(() => this.arrivals.delete(arrival));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
