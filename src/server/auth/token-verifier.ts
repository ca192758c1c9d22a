import { readFileSync } from 'node:fs';
import { createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type JSONWebKeySet } from 'jose';
import { WsgateError } from '../../protocol/errors.js';
import { isValidUserId } from '../../protocol/names.js';
import type { Identity } from './identity.js';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Registered claims that are not passed on as the session's claims. */
const REGISTERED = new Set(['sub', 'exp', 'iat', 'nbf', 'iss', 'aud', 'jti']);

export interface TokenVerifierOptions {
  /** HMAC secrets; every one is tried, so a new secret can be added before the old one is removed. */
  secrets: readonly string[];
  jwksFile?: string;
  issuer?: string;
  audience?: string;
}

/** Verifies JWTs (HMAC or public keys), requiring `exp` and a valid `sub`. */
export class TokenVerifier {
  private readonly secrets: Uint8Array[];
  private readonly jwks?: ReturnType<typeof createLocalJWKSet>;

  constructor(private readonly options: TokenVerifierOptions) {
    this.secrets = options.secrets.map((secret) => new TextEncoder().encode(secret));
    if (options.jwksFile) {
      const jwks = JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet;
      this.jwks = createLocalJWKSet(jwks);
    }
  }

  get enabled(): boolean {
    return this.secrets.length > 0 || this.jwks !== undefined;
  }

  async verify(token: string, method: 'jwt' | 'cookie'): Promise<Identity> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new WsgateError('TOKEN_INVALID', 'token is not a JWT');
    }
    const verifyOptions = {
      issuer: this.options.issuer || undefined,
      audience: this.options.audience || undefined,
      requiredClaims: ['exp', 'sub'],
    };
    let payload: JWTPayload | undefined;
    let lastError: unknown;
    if (alg && HMAC_ALGORITHMS.includes(alg)) {
      for (const secret of this.secrets) {
        try {
          payload = (await jwtVerify(token, secret, { ...verifyOptions, algorithms: HMAC_ALGORITHMS })).payload;
          break;
        } catch (error) {
          lastError = error;
          if (error instanceof joseErrors.JWTExpired) break;
        }
      }
    } else if (this.jwks) {
      try {
        payload = (await jwtVerify(token, this.jwks, { ...verifyOptions, algorithms: PUBLIC_KEY_ALGORITHMS })).payload;
      } catch (error) {
        lastError = error;
      }
    }
    if (!payload) {
      if (lastError instanceof joseErrors.JWTExpired) throw new WsgateError('TOKEN_EXPIRED', undefined, { cause: lastError });
      throw new WsgateError('TOKEN_INVALID', undefined, { cause: lastError });
    }
    if (!isValidUserId(payload.sub)) throw new WsgateError('TOKEN_INVALID', 'token subject is not a valid user id');
    const claims: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) if (!REGISTERED.has(key)) claims[key] = value;
    return { user: payload.sub, claims, expiresAt: payload.exp! * 1000, method };
  }
}

/** Signs an HS256 JWT (session cookies of the dev login, tests). */
export async function signToken(secret: string, user: string, claims: Record<string, unknown>, ttlSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
