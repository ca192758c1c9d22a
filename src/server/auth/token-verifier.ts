import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { WsgateError } from '../../protocol/errors.js';
import { isValidUserId } from '../../protocol/names.js';
import type { Identity } from './identity.js';
import { remoteJwksKeys, type RemoteJwksOptions } from './remote-jwks.js';

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Registered claims that are not passed on as the session's claims. */
const REGISTERED = new Set(['sub', 'exp', 'iat', 'nbf', 'iss', 'aud', 'jti']);

export interface TokenVerifierOptions {
  /** HMAC secrets; every one is tried, so a new secret can be added before the old one is removed. */
  secrets: readonly string[];
  jwksFile?: string;
  /** Keys fetched over HTTPS; tried after the file's when both are configured. */
  jwks?: RemoteJwksOptions;
  issuer?: string;
  audience?: string;
}

/**
 * Verifies JWTs signed with an HMAC secret or a public key (from a JWKS file, a JWKS URL, or both). `exp` is always
 * required. Throws TOKEN_INVALID, TOKEN_EXPIRED, or KEYS_UNAVAILABLE when the remote keys cannot be fetched.
 */
export class TokenVerifier {
  private readonly secrets: Uint8Array[];
  private readonly keys?: JWTVerifyGetKey;

  constructor(private readonly options: TokenVerifierOptions) {
    this.secrets = options.secrets.map((secret) => new TextEncoder().encode(secret));
    const file = options.jwksFile ? createLocalJWKSet(JSON.parse(readFileSync(options.jwksFile, 'utf8')) as JSONWebKeySet) : undefined;
    const remote = options.jwks ? remoteJwksKeys(options.jwks) : undefined;
    if (file && remote) {
      this.keys = async (header, token) => {
        try {
          return await file(header, token);
        } catch (error) {
          if (error instanceof joseErrors.JWKSNoMatchingKey) return remote(header, token);
          throw error;
        }
      };
    } else {
      this.keys = file ?? remote;
    }
  }

  get enabled(): boolean {
    return this.secrets.length > 0 || this.keys !== undefined;
  }

  /** A connection credential: `sub` must be a valid user id; the other claims become the session's claims. */
  async verify(token: string, method: 'jwt' | 'cookie'): Promise<Identity> {
    const payload = await this.payload(token, ['exp', 'sub']);
    if (!isValidUserId(payload.sub)) throw new WsgateError('TOKEN_INVALID', 'token subject is not a valid user id');
    const claims: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(payload)) if (!REGISTERED.has(key)) claims[key] = value;
    const identity: Identity = { user: payload.sub, claims, expiresAt: payload.exp! * 1000, method };
    if (typeof payload.jti === 'string' && payload.jti !== '') identity.tokenId = payload.jti;
    return identity;
  }

  /** The verified claims of a token that must carry `required` (besides a valid signature, issuer and audience). */
  async payload(token: string, required: string[]): Promise<JWTPayload> {
    if (!this.enabled) throw new WsgateError('TOKEN_INVALID', 'token authentication is not configured');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new WsgateError('TOKEN_INVALID', 'token is not a JWT');
    }
    const verifyOptions = {
      issuer: this.options.issuer || undefined,
      audience: this.options.audience || undefined,
      requiredClaims: required,
    };
    let lastError: unknown;
    if (alg && HMAC_ALGORITHMS.includes(alg)) {
      for (const secret of this.secrets) {
        try {
          return (await jwtVerify(token, secret, { ...verifyOptions, algorithms: HMAC_ALGORITHMS })).payload;
        } catch (error) {
          lastError = error;
          if (error instanceof joseErrors.JWTExpired) break;
        }
      }
    } else if (this.keys) {
      try {
        return (await jwtVerify(token, this.keys, { ...verifyOptions, algorithms: PUBLIC_KEY_ALGORITHMS })).payload;
      } catch (error) {
        lastError = error;
      }
    }
    if (lastError instanceof WsgateError) throw lastError;
    if (lastError instanceof joseErrors.JWTExpired) throw new WsgateError('TOKEN_EXPIRED', undefined, { cause: lastError });
    throw new WsgateError('TOKEN_INVALID', undefined, { cause: lastError });
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
