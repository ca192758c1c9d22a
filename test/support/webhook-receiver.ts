import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** A signing secret for tests: `whsec_` + base64 of 32 bytes. */
export function testSecret(seed: string): string {
  return `whsec_${Buffer.from(seed.padEnd(32, '.').slice(0, 32)).toString('base64')}`;
}

export interface ReceivedEvent {
  id: string;
  type: string;
  timestamp: string;
  node: string;
  data: Record<string, unknown>;
}

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  messageId: string;
  events: ReceivedEvent[];
  /** What the receiver answered (0: it never answered, the request hung). */
  status: number;
  receivedAt: number;
}

/** What to do with a request: answer a status (default 204) after a delay, or never answer. */
export interface Answer {
  status?: number;
  delayMs?: number;
  hang?: boolean;
}

/**
 * A real HTTP webhook receiver. Every request is verified with the `standardwebhooks` npm package (an implementation
 * independent of wsgate's); a request that does not verify fails the test (`rejected`) and is answered 401. `answer`
 * decides per request how to reply, so a receiver can fail at first, time out or answer out of order.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Requests that did not verify, with the reason. */
  readonly rejected: string[] = [];
  private server!: Server;
  private readonly verifier: Webhook;
  private readonly waiters = new Set<() => void>();
  private readonly hanging = new Set<() => void>();
  url = '';

  constructor(secret: string, private answer: (request: { messageId: string; events: ReceivedEvent[]; index: number }) => Answer = () => ({})) {
    this.verifier = new Webhook(secret);
  }

  static async start(secret: string, answer?: WebhookReceiver['answer']): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret, answer);
    await receiver.listen();
    return receiver;
  }

  /** Changes how later requests are answered. */
  answerWith(answer: WebhookReceiver['answer']): void {
    this.answer = answer;
  }

  private listen(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let events: ReceivedEvent[];
        try {
          events = (this.verifier.verify(body, headersOf(request.headers)) as { events: ReceivedEvent[] }).events;
        } catch (error) {
          this.rejected.push(`${String(request.headers['webhook-id'])}: ${(error as Error).message}`);
          response.writeHead(401).end();
          return;
        }
        const messageId = String(request.headers['webhook-id']);
        const answer = this.answer({ messageId, events, index: this.requests.length });
        const record: ReceivedRequest = { messageId, events, status: 0, receivedAt: Date.now() };
        this.requests.push(record);
        const reply = () => {
          record.status = answer.status ?? 204;
          if (!response.destroyed) response.writeHead(record.status).end();
          this.notify();
        };
        if (answer.hang) {
          this.hanging.add(() => response.destroy());
          this.notify();
        } else if (answer.delayMs) setTimeout(reply, answer.delayMs);
        else reply();
      });
    });
    // Keep-alive sockets would hold `close` open.
    this.server.keepAliveTimeout = 1_000;
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
      resolve();
    }));
  }

  /** Events of requests answered 2xx, in the order they were answered. */
  delivered(): ReceivedEvent[] {
    return this.requests
      .filter((request) => request.status >= 200 && request.status < 300)
      .flatMap((request) => request.events);
  }

  /** Every event any request carried (answered or not), each id as often as it was sent. */
  sent(): ReceivedEvent[] {
    return this.requests.flatMap((request) => request.events);
  }

  /** Resolves once `condition` holds (checked after every request), or rejects after `timeoutMs`. */
  waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.requests.length} requests so far)`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Cuts the connections of requests left hanging (the sender sees a network error and retries). */
  dropHanging(): void {
    for (const drop of this.hanging) drop();
    this.hanging.clear();
  }

  async stop(): Promise<void> {
    this.dropHanging();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]));
}
