#!/usr/bin/env node
/**
 * Folder cli/: the `wsgate` command line (serve, config check/print, webhooks tail) and its flag-to-config mapping. It
 * may import the server's public pieces (config, gateway, observability, webhooks); nothing imports it.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { stdoutLogSink } from '../server/observability/log-sink.js';
import { registerConfigCommands } from './config-command.js';
import { configFromOptions, exitOnConfigError, ExitCode, withConfigOptions, type ConfigOptions } from './config-options.js';

// The package root holds package.json, from dist/cli as from src/cli.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** How long an exit waits for log lines still on their way out; a reader that is gone or stuck never holds it longer. */
const LOG_FLUSH_MS = 250;

function exitAfterLogs(code: number): void {
  void stdoutLogSink().flush(LOG_FLUSH_MS).then(() => process.exit(code));
}

const program = new Command('wsgate').description('Real-time WebSocket gateway').version(version);

withConfigOptions(program.command('serve').description('run a gateway node')).action(serve);
registerConfigCommands(program, version);

program
  .command('webhooks')
  .description('webhook tools')
  .command('tail')
  .description('a tiny receiver that verifies webhook signatures and prints the events (for development)')
  .option('-p, --port <port>', 'port to listen on', '9000')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--secret <whsec>', 'signing secret (repeatable); default: the --dev preset\'s', (value: string, previous: string[]) => [...previous, value], [])
  .option('--status <code>', 'answer with this HTTP status (e.g. 500, to watch retries)', '204')
  .option('--json', 'one JSON line per event')
  .action(async (options: { port: string; host: string; secret: string[]; status: string; json?: boolean }) => {
    // Loaded when used, like the server: the other commands do not need it.
    const [{ tailWebhooks }, { DEV_WEBHOOK_SECRET }] = await Promise.all([import('./webhooks-tail.js'), import('../server/config/presets.js')]);
    await tailWebhooks({
      port: Number(options.port), host: options.host, secrets: options.secret.length > 0 ? options.secret : [DEV_WEBHOOK_SECRET],
      status: Number(options.status), json: options.json ?? false,
    });
  });

program
  .command('admin')
  .description('operator console tools')
  .command('hash-password')
  .description('reads a password from stdin and prints its scrypt hash for admin.passwordHash')
  .action(async () => {
    const { hashAdminPassword } = await import('../server/admin/admin-credentials.js');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (password === '') throw new Error('no password on stdin');
    console.log(await hashAdminPassword(password));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(ExitCode.FAILURE);
});

async function serve(options: ConfigOptions): Promise<void> {
  const config = exitOnConfigError(() => configFromOptions(options, process.env));
  // Loaded to serve only, so `--version` and `config` answer without loading the server and its clients.
  const [{ Gateway }, { createLogger }, { startTracingFromEnv }] = await Promise.all([
    import('../server/gateway.js'), import('../server/observability/logger.js'), import('../server/observability/tracing-sdk.js'),
  ]);
  const logger = createLogger(config.log.level);
  // Before the gateway exists, so its first handshake is traced; off (the API's no-op) unless OTEL_* ask for traces.
  const tracing = await startTracingFromEnv(process.env, logger, version);
  if (tracing) logger.info({ exporters: tracing.exporters }, 'tracing on');
  // A promise that nobody awaited failing is a bug to fix, not a reason to drop every session of the node.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  const gateway = await Gateway.create(config, { logger });

  let signals = 0;
  let listening = false;
  /** A signal that came while the node was still starting; acted on once it listens. */
  let pendingSignal: string | null = null;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      exitAfterLogs(1);
      return;
    }
    if (!listening) {
      pendingSignal = signal;
      return;
    }
    logger.info({ signal }, 'shutting down');
    // The drain keeps within the timeout by itself; this is the backstop for a stuck engine or server close.
    const hardStop = setTimeout(() => {
      logger.error('drain timed out: exiting');
      exitAfterLogs(1);
    }, config.drain.timeoutMs);
    hardStop.unref();
    // Spans still buffered go out after the drain (its own spans included), within the hard stop.
    gateway.stop().then(() => tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'spans could not be exported at exit'))).then(
      () => exitAfterLogs(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  // Before listening: whoever reads the "listening" line may signal at once, and must get a drain, not a kill.
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // SIGHUP: a renewed certificate (certbot, cert-manager) goes live without a restart; open sessions are untouched.
  process.on('SIGHUP', () => {
    try {
      gateway.reloadTls();
    } catch (error) {
      logger.error({ err: error }, 'TLS reload failed: keeping the current certificate');
    }
  });

  const address = await gateway.listen();
  listening = true;
  if (options.dev) {
    logger.warn('development preset: dev login and public secrets are on — never use --dev in production');
    if (config.web.demo) logger.info(`demo chat: open http://localhost:${address.port}/ in two browsers`);
  }
  if (pendingSignal !== null) {
    signals = 0;
    shutdown(pendingSignal);
  }
}
