import type { Identity } from './identity.js';

/** A pattern expanded with an identity's values, matched against a name (a channel, a recipient's user id). */
export interface IdentityPattern {
  matches(name: string, identity: Identity): boolean;
}

/**
 * `org:{claims.org}/*` — placeholders `{user}` and `{claims.NAME}` (dotted paths allowed) expand to the identity's
 * values (an array expands to each element; a missing value never matches), `*` matches any characters.
 */
export function compileIdentityPattern(pattern: string): IdentityPattern {
  const parts = pattern.split(/(\{[^}]+\})/).filter((part) => part !== '');
  return {
    matches(name, identity) {
      const expansions = expand(parts, identity);
      return expansions.some((regex) => regex.test(name));
    },
  };
}

function expand(parts: string[], identity: Identity): RegExp[] {
  let sources = [''];
  for (const part of parts) {
    if (part.startsWith('{') && part.endsWith('}')) {
      const values = placeholderValues(part.slice(1, -1), identity);
      if (values.length === 0) return [];
      sources = sources.flatMap((source) => values.map((value) => source + escapeRegex(value)));
    } else {
      const literal = part.split('*').map(escapeRegex).join('.*');
      sources = sources.map((source) => source + literal);
    }
  }
  return sources.map((source) => new RegExp(`^${source}$`));
}

function placeholderValues(name: string, identity: Identity): string[] {
  let value: unknown;
  if (name === 'user') value = identity.user;
  else if (name.startsWith('claims.')) {
    value = name
      .slice('claims.'.length)
      .split('.')
      .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), identity.claims);
  }
  const values = Array.isArray(value) ? value : [value];
  // Only plain scalar values expand; a value containing a separator could widen the match, so it never matches.
  return values
    .filter((item): item is string | number => typeof item === 'string' || typeof item === 'number')
    .map(String)
    .filter((item) => item.length > 0 && !/[*/:]/.test(item));
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
