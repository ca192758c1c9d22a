import { WsgateError } from '../../protocol/errors.js';

/** A base for origin-form targets (`/ws?ticket=…`); only path and query are read. */
const BASE = 'http://gateway';

/** What the gateway reads of a request target. */
export interface RequestTarget {
  pathname: string;
  searchParams: URLSearchParams;
}

/**
 * A target the URL parser would leave exactly as it is: a path of letters, digits, `_`, `-` and `/` (no `//` at the
 * start, no dot segments, no escapes) and a query of characters it does not percent-encode (no fragment). For such a
 * target, path and query are the text itself, so the full parse (the larger part of a handshake's parsing) is skipped.
 */
const PLAIN_TARGET = /^\/(?!\/)[\w/-]*(?:\?[\w.~%&=+,:;@!$()*/?-]*)?$/;

/**
 * The request target's path and query, or `REQUEST_INVALID` when it is not a URL (`//[bad/ws`, `http://[::1`). The
 * error carries no part of the target: its query may hold credentials.
 */
export function parseRequestTarget(target: string | undefined): RequestTarget {
  if (target !== undefined && PLAIN_TARGET.test(target)) {
    const query = target.indexOf('?');
    return query === -1
      ? { pathname: target, searchParams: new URLSearchParams() }
      : { pathname: target.slice(0, query), searchParams: new URLSearchParams(target.slice(query + 1)) };
  }
  try {
    return new URL(target ?? '/', BASE);
  } catch {
    throw new WsgateError('REQUEST_INVALID', 'request target is not a valid URL');
  }
}
