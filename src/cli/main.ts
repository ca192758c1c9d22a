#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../server/config/load.js';
import { keyType, parseEnvValue, setPath } from '../server/config/load.js';
import { Gateway } from '../server/gateway.js';
import { stdoutLogSink } from '../server/observability/log-sink.js';
import { createLogger } from '../server/observability/logger.js';

/** How long an exit waits for log lines still on their way out; a reader that is gone or stuck never holds it longer. */
const LOG_FLUSH_MS = 250;

function exitAfterLogs(code: number): void {
  void stdoutLogSink().flush(LOG_FLUSH_MS).then(() => process.exit(code));
}

const program = new Command('wsgate').description('Real-time WebSocket gateway');

interface ServeOptions {
  config?: string;
  dev?: boolean;
  port?: string;
  host?: string;
  engine?: string;
  redisUrl?: string;
  natsUrl?: string;
  nodeId?: string;
  logLevel?: string;
  set: string[];
}

program
  .command('serve')
  .description('run a gateway node')
  .option('-c, --config <file>', 'YAML or JSON config file (also WSGATE_CONFIG)')
  .option('--dev', 'development preset: chat/org/user namespaces, anonymous access, dev login, demo page')
  .option('-p, --port <port>', 'port (also WSGATE_PORT, PORT)')
  .option('--host <host>', 'address to bind (also WSGATE_HOST)')
  .option('--engine <kind>', 'memory | redis | redis-cluster | nats (also WSGATE_ENGINE)')
  .option('--redis-url <urls>', 'comma-separated Redis URLs (also WSGATE_REDIS_URL)')
  .option('--nats-url <urls>', 'comma-separated NATS URLs (also WSGATE_NATS_URL)')
  .option('--node-id <id>', 'node id, unique in the cluster (also WSGATE_NODE_ID)')
  .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
  .option('--set <key=value>', 'any config key by its path, e.g. --set ws.maxPayload=131072 (repeatable)', collect, [])
  .action(serve);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

function collect(value: string, previous: string[]): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError('expected key=value');
  return [...previous, value];
}

async function serve(options: ServeOptions): Promise<void> {
  const overrides: Record<string, unknown> = {};
  const flag = (path: string, value: string | undefined) => {
    if (value !== undefined) setPath(overrides, path, parseEnvValue(`--${path}`, value, keyType(path) ?? 'string'));
  };
  flag('port', options.port);
  flag('host', options.host);
  flag('engine.kind', options.engine);
  flag('engine.redisUrls', options.redisUrl);
  flag('engine.natsUrls', options.natsUrl);
  flag('nodeId', options.nodeId);
  flag('log.level', options.logLevel);
  for (const assignment of options.set) {
    const [path, ...rest] = assignment.split('=');
    const type = keyType(path!);
    if (!type) throw new ConfigError(`--set ${path}: unknown key`);
    flag(path!, rest.join('='));
  }

  let config;
  try {
    config = loadConfig({ file: options.config, env: process.env, overrides, dev: options.dev });
  } catch (error) {
    console.error(`wsgate: ${(error as Error).message}`);
    process.exit(2);
  }
  const logger = createLogger(config.log.level);
  // A promise that nobody awaited failing is a bug to fix, not a reason to drop every session of the node.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  const gateway = await Gateway.create(config, { logger });
  const address = await gateway.listen();
  if (options.dev) {
    logger.warn('development preset: dev login and public secrets are on — never use --dev in production');
    if (config.web.demo) logger.info(`demo chat: open http://localhost:${address.port}/ in two browsers`);
  }

  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      exitAfterLogs(1);
      return;
    }
    logger.info({ signal }, 'shutting down');
    // The drain keeps within the timeout by itself; this is the backstop for a stuck engine or server close.
    const hardStop = setTimeout(() => {
      logger.error('drain timed out: exiting');
      exitAfterLogs(1);
    }, config.drain.timeoutMs);
    hardStop.unref();
    gateway.stop().then(
      () => exitAfterLogs(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  // SIGHUP: a renewed certificate (certbot, cert-manager) goes live without a restart; open sessions are untouched.
  process.on('SIGHUP', () => {
    try {
      gateway.reloadTls();
    } catch (error) {
      logger.error({ err: error }, 'TLS reload failed: keeping the current certificate');
    }
  });
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
