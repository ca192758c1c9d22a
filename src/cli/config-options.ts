import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError, keyType, loadConfig, parseEnvValue, setPath } from '../server/config/load.js';
import type { Config } from '../server/config/schema.js';

/** Exit codes of the CLI, as docs/configuration.md lists them. */
export const ExitCode = {
  OK: 0,
  /** A bad command line (unknown option, missing argument; commander's own code), or the node failed at run time. */
  FAILURE: 1,
  /** The configuration is invalid or its file cannot be read; the message names the key or the file. */
  INVALID_CONFIG: 2,
} as const;

/** The flags that make a node's configuration, with the file and the environment; `serve` and `config print` share them. */
export interface ConfigOptions {
  config?: string;
  dev?: boolean;
  port?: string;
  host?: string;
  engine?: string;
  redisUrl?: string;
  natsUrl?: string;
  nodeId?: string;
  logLevel?: string;
  webhook: string[];
  set: string[];
}

export function withConfigOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'YAML or JSON config file (also WSGATE_CONFIG)')
    .option('--dev', 'development preset: chat/org/user namespaces, anonymous access, dev login, demo page')
    .option('-p, --port <port>', 'port (also WSGATE_PORT, PORT)')
    .option('--host <host>', 'address to bind (also WSGATE_HOST)')
    .option('--engine <kind>', 'memory | redis | redis-cluster | nats (also WSGATE_ENGINE)')
    .option('--redis-url <urls>', 'comma-separated Redis URLs (also WSGATE_REDIS_URL)')
    .option('--nats-url <urls>', 'comma-separated NATS URLs (also WSGATE_NATS_URL)')
    .option('--node-id <id>', 'node id, unique in the cluster (also WSGATE_NODE_ID)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .option('--webhook <url>', 'send lifecycle webhooks to this URL (repeatable; sets webhooks.endpoints)', (value: string, previous: string[]) => [...previous, value], [])
    .option('--set <key=value>', 'any config key by its path, e.g. --set ws.maxPayload=131072 (repeatable)', collect, []);
}

function collect(value: string, previous: string[]): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError('expected key=value');
  return [...previous, value];
}

/** The configuration the options, the file and `env` make; throws ConfigError naming the key. */
export function configFromOptions(options: ConfigOptions, env: NodeJS.ProcessEnv): Readonly<Config> {
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
  if (options.webhook.length > 0) setPath(overrides, 'webhooks.endpoints', options.webhook.map((url) => ({ url })));
  for (const assignment of options.set) {
    const [path, ...rest] = assignment.split('=');
    if (!keyType(path!)) throw new ConfigError(`--set ${path}: unknown key`);
    flag(path!, rest.join('='));
  }
  return loadConfig({ file: options.config, env, overrides, dev: options.dev });
}

/** Runs `load`; a bad configuration ends the process with its message and exit code 2. */
export function exitOnConfigError<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    console.error(`wsgate: ${(error as Error).message}`);
    process.exit(ExitCode.INVALID_CONFIG);
  }
}
