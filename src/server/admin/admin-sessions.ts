import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A console session: who logged in, until when, and the CSRF token its page must send with every action. */
export interface AdminSession {
  subject: string;
  expiresAt: number;
  csrf: string;
}

/**
 * Console sessions as signed cookie values (`<expires>.<nonce>.<subject>.<mac>`), so every node accepts a session
 * any node issued without a store. The CSRF token is a MAC of the session's nonce: it cannot be derived without the
 * signing key, and a page of another origin cannot read it (it comes only in a same-origin JSON answer).
 */
export class AdminSessions {
  constructor(private readonly key: Buffer, private readonly lifetimeMs: number, private readonly now: () => number = Date.now) {}

  issue(subject: string): { cookie: string; session: AdminSession } {
    const expiresAt = this.now() + this.lifetimeMs;
    const nonce = randomBytes(16).toString('base64url');
    const body = `${expiresAt}.${nonce}.${Buffer.from(subject).toString('base64url')}`;
    return { cookie: `${body}.${this.mac(body)}`, session: { subject, expiresAt, csrf: this.csrf(nonce) } };
  }

  /** The session a cookie value names; null when it is forged, malformed or expired. */
  verify(cookie: string | undefined): AdminSession | null {
    if (!cookie) return null;
    const parts = cookie.split('.');
    if (parts.length !== 4) return null;
    const body = parts.slice(0, 3).join('.');
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(parts[3]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const expiresAt = Number(parts[0]);
    if (!Number.isFinite(expiresAt) || expiresAt <= this.now()) return null;
    return { subject: Buffer.from(parts[2]!, 'base64url').toString('utf8'), expiresAt, csrf: this.csrf(parts[1]!) };
  }

  /** Constant-time comparison of the token a request sent with the session's. */
  static csrfMatches(session: AdminSession, sent: unknown): boolean {
    if (typeof sent !== 'string') return false;
    const a = Buffer.from(sent);
    const b = Buffer.from(session.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private csrf(nonce: string): string {
    return createHmac('sha256', this.key).update(`csrf:${nonce}`).digest('base64url');
  }
}
