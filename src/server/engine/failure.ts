import { WsgateError } from '../../protocol/errors.js';

/**
 * How a failed request is answered, on every path (frames, server API, browser auth, handshakes): its own catalogue
 * error when it has one; `ENGINE_UNAVAILABLE` while the shared store is down, since the store being away is then the
 * cause and the caller should retry, not report a bug; `INTERNAL` otherwise — the only outcome callers log as an error.
 */
export function classifyFailure(error: unknown, engineHealthy: boolean): WsgateError {
  if (error instanceof WsgateError) return error;
  return new WsgateError(engineHealthy ? 'INTERNAL' : 'ENGINE_UNAVAILABLE', undefined, { cause: error });
}
