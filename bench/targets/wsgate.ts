import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { logDir, repoRoot } from '../processes.js';
import { freePort, startPortServer } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

/** The built CLI; WSGATE_BENCH_CLI points the bench at another build (a branch, a release) to compare. */
const cli = process.env.WSGATE_BENCH_CLI ?? join(repoRoot, 'dist/cli/main.js');

/** Only ever used against the bench's own loopback server. */
const API_KEY = 'bench-api-key-0123456789abcdef';

/**
 * Configuration for the run (keys per src/server/config/schema.ts). Anonymous sessions for fan-out; tickets for the
 * connect test. Limits that would throttle a load test (publish rate of the single publisher) are raised; everything
 * else keeps the defaults a deployment gets, including the send queue bound.
 */
function benchConfig(port: number, options: StartOptions): Record<string, unknown> {
  const generous = { rate: 1_000_000, burst: 1_000_000 };
  return {
    port,
    host: '127.0.0.1',
    allowedOrigins: ['*'],
    apiKeys: [API_KEY],
    // Per-connection info logs would be charged to the server's CPU; warnings still reach the log file.
    log: { level: 'warn' },
    auth: { anonymous: true, tickets: { ttlSeconds: 300 } },
    ws: { pingIntervalMs: options.pingIntervalMs },
    namespaces: { bench: { publish: true } },
    limits: {
      rate: { publish: generous, subscribe: generous, send: generous, action: generous },
    },
  };
}

/** The gateway itself, as `wsgate serve` runs it, single node, memory engine. */
export const wsgateTarget: Target = {
  name: 'wsgate',
  kind: 'wsgate',
  nodes: 1,
  ticketApiKey: API_KEY,
  async unavailableReason() {
    return existsSync(cli) ? undefined : `not available: ${cli} missing (run npm run build)`;
  },
  async start(options: StartOptions): Promise<RunningTarget> {
    const port = await freePort();
    const configFile = join(logDir, `wsgate-${port}.yaml`);
    writeFileSync(configFile, stringify(benchConfig(port, options)));
    const server = await startPortServer('wsgate', [cli, 'serve', '--config', configFile], port, {
      WSGATE_PORT: String(port),
    });
    return {
      urls: [`ws://127.0.0.1:${port}`],
      serverPids: [server.pid],
      helperPids: [],
      memory: () => server.memory(),
      stop: () => server.stop(),
    };
  },
};
