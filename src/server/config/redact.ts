import type { Config } from './schema.js';

/** What replaces a secret, as in the logs. */
const REDACTED = '[redacted]';

/**
 * Keys whose values are credentials, by name, so a key added later is covered without a list to keep: `apiKeys`,
 * `auth.jwt.secrets`, `namespaces.*.authorize.apiKey`, `actions.routes[].apiKey`, any `password` or `token`.
 */
const SECRET_KEY = /secret|password|passphrase|token|api_?key|credential|private_?key/i;

/** `scheme://user:password@host` or `scheme://token@host` (NATS token auth). */
const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;

/**
 * A copy of the configuration that can be shown: values of secret keys replaced (a list keeps its length, so the
 * number of keys configured still shows) and the credentials in URLs (`redis://:password@host`) taken out.
 */
export function redactConfig(config: Readonly<Config>): Record<string, unknown> {
  return redactValue(config, false) as Record<string, unknown>;
}

/** `secret`: the value sits under a secret key; only its strings are hidden (a namespace may be named `tokens`). */
function redactValue(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactValue(child, SECRET_KEY.test(key))]));
  }
  if (typeof value !== 'string') return value;
  if (secret) return value === '' ? value : REDACTED;
  return value.replace(URL_CREDENTIALS, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon === -1 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`}@`;
  });
}
