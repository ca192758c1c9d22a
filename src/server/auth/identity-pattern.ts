import { matchesWildcard } from '../../protocol/names.js';
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
  // Split once: a pattern without placeholders is matched as it is; others only fill in the identity's values.
  const parts = pattern.split(/(\{[^}]+\})/).filter((part) => part !== '');
  if (!parts.some(isPlaceholder)) return { matches: (name) => matchesWildcard(pattern, name) };
  return {
    matches(name, identity) {
      return expand(parts, identity).some((expanded) => matchesWildcard(expanded, name));
    },
  };
}

function isPlaceholder(part: string): boolean {
  return part.startsWith('{') && part.endsWith('}');
}

/** The pattern with each placeholder replaced by each of its values; values never hold `*`, so they stay literal. */
function expand(parts: string[], identity: Identity): string[] {
  let expansions = [''];
  for (const part of parts) {
    if (isPlaceholder(part)) {
      const values = placeholderValues(part.slice(1, -1), identity);
      if (values.length === 0) return [];
      expansions = expansions.flatMap((prefix) => values.map((value) => prefix + value));
    } else {
      expansions = expansions.map((prefix) => prefix + part);
    }
  }
  return expansions;
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
