import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import { createRemoteJWKSet, customFetch, errors as joseErrors, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import { WsgateError } from '../../protocol/errors.js';

export interface RemoteJwksOptions {
  /** `https://` URL of the key set. */
  url: string;
  /** PEM file of a CA to trust besides the system's (an identity provider behind a private CA). */
  caFile?: string;
  /** Keys are fetched again after this long. */
  cacheMs: number;
  /** A token with an unknown `kid` fetches the keys again, at most once per this long. */
  cooldownMs: number;
  timeoutMs: number;
  /** After a failed fetch, verifications fail at once for this long instead of fetching again. */
  retryMs?: number;
}

/** A JWKS larger than this is not a key set. */
const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * The keys of a JWKS served over HTTPS, through jose's remote key set: cached for `cacheMs`, fetched again when a
 * token names a `kid` the cache lacks (rotation) but no more than once per `cooldownMs`, concurrent fetches shared.
 * It fails closed: when the keys cannot be fetched, verification fails with KEYS_UNAVAILABLE — and while a fetch has
 * just failed, for `retryMs` no new one is tried, so an identity provider that is down does not get a fetch per
 * handshake.
 */
export function remoteJwksKeys(options: RemoteJwksOptions): JWTVerifyGetKey {
  const ca = options.caFile ? [...rootCertificates, readFileSync(options.caFile, 'utf8')] : undefined;
  const retryMs = options.retryMs ?? 1_000;
  let failedAt = -Infinity;
  let lastFailure: unknown;

  const fetchKeys: FetchImplementation = async (url, init) => {
    if (Date.now() - failedAt < retryMs) throw new WsgateError('KEYS_UNAVAILABLE', 'the key set could not be fetched a moment ago', { cause: lastFailure });
    try {
      const { status, body } = await fetchOverHttps(url, Object.fromEntries(init.headers.entries()), init.signal, ca);
      if (status !== 200) throw new Error(`the key set answered HTTP ${status}`);
      JSON.parse(body);
      return new Response(body, { status, headers: { 'content-type': 'application/json' } });
    } catch (error) {
      failedAt = Date.now();
      lastFailure = error;
      throw error;
    }
  };

  const keys = createRemoteJWKSet(new URL(options.url), {
    cacheMaxAge: options.cacheMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.timeoutMs,
    [customFetch]: fetchKeys,
  });
  return async (header, token) => {
    try {
      return await keys(header, token);
    } catch (error) {
      // No key for the token is the token's fault; anything else is the key set's (fetch, HTTP, JSON, shape).
      if (error instanceof WsgateError || isTokenFault(error)) throw error;
      throw new WsgateError('KEYS_UNAVAILABLE', 'the key set could not be fetched', { cause: error });
    }
  };
}

function isTokenFault(error: unknown): boolean {
  return error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys || error instanceof joseErrors.JOSENotSupported;
}

function fetchOverHttps(url: string, headers: Record<string, string>, signal: AbortSignal, ca: string[] | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { headers, signal, ...(ca ? { ca } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_JWKS_BYTES) request.destroy(new Error(`the key set is larger than ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}
