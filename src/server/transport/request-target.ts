import { WsgateError } from '../../protocol/errors.js';

/** A base for origin-form targets (`/ws?ticket=…`); only path and query are read. */
const BASE = 'http://gateway';

/**
 * The request target as a URL, or `REQUEST_INVALID` when it is not one (`//[bad/ws`, `http://[::1`). The error carries
 * no part of the target: its query may hold credentials.
 */
export function parseRequestTarget(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', BASE);
  } catch {
    throw new WsgateError('REQUEST_INVALID', 'request target is not a valid URL');
  }
}
