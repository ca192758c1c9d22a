import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config } from './schema.js';
import { PUSHER_NAMESPACE_PREFIX, pusherNamespaces } from './pusher-namespaces.js';
import { DEV_PRESET } from './presets.js';
import { parseAddressRange } from './address-range.js';
import { parseAdminHash } from './password-hash.js';
import { checkPusherWebhooks, checkWebhookEndpoints } from './webhook-endpoints.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigSources {
  /** Path of a YAML or JSON config file. */
  file?: string;
  /** Environment variables (`WSGATE_*`, `PORT`). */
  env?: NodeJS.ProcessEnv;
  /** Values from flags or code, as a partial config object. */
  overrides?: Record<string, unknown>;
  /** Layer the development preset (demo namespaces, anonymous access, dev login) under the file. */
  dev?: boolean;
}

const ajv = new Ajv({ useDefaults: true, coerceTypes: true, allErrors: true, strict: false });
const validate = ajv.compile<Config>(ConfigSchema);

/** Environment names that do not follow the generated `WSGATE_<PATH>` form, and what they set. */
const ENV_ALIASES: Record<string, string> = {
  PORT: 'port',
  WSGATE_ENGINE: 'engine.kind',
  WSGATE_REDIS_URL: 'engine.redisUrls',
  WSGATE_NATS_URL: 'engine.natsUrls',
  WSGATE_LOG_LEVEL: 'log.level',
};

/**
 * Builds the node's configuration: schema defaults < dev preset < file < environment < overrides. Validated once and
 * deep-frozen; a bad value throws a ConfigError naming the key.
 */
export function loadConfig(sources: ConfigSources = {}): Readonly<Config> {
  const env = sources.env ?? {};
  const layers: Array<Record<string, unknown>> = [];
  if (sources.dev) layers.push(structuredClone(DEV_PRESET) as Record<string, unknown>);
  const file = sources.file ?? env.WSGATE_CONFIG;
  if (file) layers.push(readConfigFile(file));
  layers.push(fromEnvironment(env));
  if (sources.overrides) layers.push(sources.overrides);

  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => deepMerge(acc, layer), {});
  addPusherNamespaces(merged);
  if (!validate(merged)) throw new ConfigError(formatErrors(validate.errors ?? []));
  checkRelations(merged as Config);
  return deepFreeze(merged as Config);
}

/**
 * The namespaces of the Pusher apps join the configured ones (before validation, so the schema's defaults fill them).
 * A configured namespace with the apps' prefix is refused: it would share, or shadow, an app's channels.
 */
function addPusherNamespaces(merged: Record<string, unknown>): void {
  const namespaces = (merged.namespaces ?? {}) as Record<string, unknown>;
  const taken = Object.keys(namespaces).filter((name) => name.startsWith(PUSHER_NAMESPACE_PREFIX));
  if (taken.length > 0) throw new ConfigError(`invalid configuration: namespaces.${taken[0]}: the prefix "${PUSHER_NAMESPACE_PREFIX}" is reserved for the namespaces of pusher.apps`);
  const apps = (merged.pusher as { apps?: unknown } | undefined)?.apps;
  if (!Array.isArray(apps)) return;
  const named = apps
    .map((app) => app as { id?: unknown; webhooks?: unknown } | null)
    .filter((app): app is { id: string; webhooks?: unknown } => typeof app?.id === 'string')
    .map((app) => ({ id: app.id, webhooks: Array.isArray(app.webhooks) && app.webhooks.length > 0 }));
  merged.namespaces = { ...namespaces, ...pusherNamespaces(named) };
}

/** What the schema cannot say: values that must parse, keys that go together. */
function checkRelations(config: Config): void {
  const problems: string[] = [];
  config.proxy.trustedProxies.forEach((entry, index) => {
    if (!parseAddressRange(entry)) problems.push(`proxy.trustedProxies.${index}: "${entry}" is not an address or CIDR`);
  });
  if ((config.tls.cert === '') !== (config.tls.key === '')) problems.push('tls: tls.cert and tls.key go together (set both, or neither)');
  if (config.reusePort && config.engine.kind === 'memory') {
    problems.push('reusePort: needs a shared engine (engine.kind redis, redis-cluster or nats); on the memory engine every process would be a gateway of its own');
  }
  if (config.admin.enabled && config.admin.passwordHash === '' && config.admin.secretKeys.length === 0) {
    problems.push('admin.enabled: the console needs admin.passwordHash or admin.secretKeys');
  }
  if (config.admin.passwordHash !== '' && !parseAdminHash(config.admin.passwordHash)) {
    problems.push('admin.passwordHash: not a scrypt$N$r$p$salt$hash string (make one with `wsgate admin hash-password`)');
  }
  const appIds = new Set<string>();
  const appKeys = new Set<string>();
  config.pusher.apps.forEach((app, index) => {
    if (appIds.has(app.id)) problems.push(`pusher.apps.${index}.id: "${app.id}" names two apps`);
    if (appKeys.has(app.key)) problems.push(`pusher.apps.${index}.key: "${app.key}" is the key of two apps`);
    appIds.add(app.id);
    appKeys.add(app.key);
  });
  try {
    // Webhook secrets and event patterns are checked here, so a bad one stops the node at start like any other.
    const endpoints = checkWebhookEndpoints(config.webhooks);
    checkPusherWebhooks(config.pusher.apps, new Set(endpoints.map((endpoint) => endpoint.name)));
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const value: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('the top level must be a mapping');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid: ${(error as Error).message}`, { cause: error });
  }
}

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  anyOf?: SchemaNode[];
  patternProperties?: Record<string, SchemaNode>;
}

/** Every settable key path with its schema type: `ws.maxPayload` -> integer. */
function leafPaths(node: SchemaNode, prefix: string[] = [], out = new Map<string, string>()): Map<string, string> {
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) leafPaths(child, [...prefix, key], out);
  } else {
    out.set(prefix.join('.'), node.type ?? (node.anyOf ? 'string' : 'object'));
  }
  return out;
}

const KEY_TYPES = leafPaths(ConfigSchema as unknown as SchemaNode);

/** `ws.maxPayload` -> `WSGATE_WS_MAX_PAYLOAD` */
export function envName(path: string): string {
  return 'WSGATE_' + path.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

const ENV_KEYS = new Map<string, string>([...KEY_TYPES.keys()].map((path) => [envName(path), path]));
for (const [name, path] of Object.entries(ENV_ALIASES)) ENV_KEYS.set(name, path);

/** Every environment variable the configuration reads, with the key it sets. */
export function configEnvironment(): ReadonlyMap<string, string> {
  return ENV_KEYS;
}

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Aliases first, so the canonical name wins when both are set.
  const names = [...ENV_KEYS.keys()].sort((a, b) => Number(b in ENV_ALIASES) - Number(a in ENV_ALIASES));
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const path = ENV_KEYS.get(name)!;
    setPath(out, path, parseEnvValue(name, raw, KEY_TYPES.get(path)!));
  }
  return out;
}

/**
 * Parses a string (environment, `--set`) into the key's type; validation does the rest. Lists are comma-separated, or
 * JSON when they start with `[` (lists of objects such as `actions.routes` need JSON).
 */
export function parseEnvValue(name: string, raw: string, type: string): unknown {
  if (type === 'array' && !raw.trimStart().startsWith('[')) return raw.split(',').map((item) => item.trim()).filter(Boolean);
  if (type === 'object' || type === 'array') {
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(`${name} must be ${type === 'array' ? 'a comma-separated list or a JSON array' : 'a JSON object'}`);
    }
  }
  return raw;
}

export function keyType(path: string): string | undefined {
  return KEY_TYPES.get(path);
}

export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** Merges `layer` onto `base`: objects key by key, everything else (arrays included) replaced. */
export function deepMerge(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatErrors(errors: ErrorObject[]): string {
  const lines = errors.map((error) => {
    const key = error.instancePath.slice(1).replaceAll('/', '.') || '(root)';
    if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return `${key === '(root)' ? '' : key + '.'}${extra}: unknown key`;
    }
    if (error.keyword === 'const') return null;
    if (error.keyword === 'anyOf') return `${key}: must be one of the allowed values`;
    return `${key}: ${error.message}`;
  });
  const unique = [...new Set(lines.filter((line): line is string => line !== null))];
  return `invalid configuration: ${unique.join('; ') || errors.map((error) => error.instancePath + ' ' + error.message).join('; ')}`;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
