import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { verifyStandardWebhook } from '../server/webhooks/standard-webhooks.js';
import type { WebhookEvent } from '../server/webhooks/events.js';

export interface TailOptions {
  port: number;
  host: string;
  secrets: string[];
  /** Print each event as one JSON line instead of a readable line. */
  json: boolean;
  /** Answer this status instead of 204 (to watch retries). */
  status: number;
}

/**
 * A tiny webhook receiver for development: verifies each request's Standard Webhooks signature, prints its events
 * and answers 204. Requests that do not verify are answered 401 and reported.
 */
export function tailWebhooks(options: TailOptions, out: (line: string) => void = console.log): Promise<() => Promise<void>> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let events: WebhookEvent[];
      try {
        events = (verifyStandardWebhook(options.secrets, request.headers, body) as { events: WebhookEvent[] }).events;
      } catch (error) {
        out(`! ${request.headers['webhook-id'] ?? '(no id)'}: refused, ${(error as Error).message}`);
        response.writeHead(401).end();
        return;
      }
      for (const event of events) {
        out(options.json ? JSON.stringify(event) : `${event.timestamp} ${event.type.padEnd(20)} ${JSON.stringify(event.data)}  (${event.id} from ${event.node})`);
      }
      response.writeHead(options.status).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      out(`listening for webhooks on http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}/ (Ctrl-C to stop)`);
      resolve(() => new Promise((done) => server.close(() => done())));
    });
  });
}
