import { WsgateError } from '../../protocol/errors.js';
import { BackendAuthorizer } from '../channels/backend-authorizer.js';
import type { Config } from '../config/schema.js';
import type { Identity } from '../auth/identity.js';
import { compileIdentityPattern, type IdentityPattern } from '../auth/identity-pattern.js';

/**
 * Who may `send` to whom: an `allow` pattern over the recipient's user id, expanded with the sender's identity, grants
 * it; otherwise the `authorize` backend decides where one is configured; otherwise the send is refused. Anonymous
 * sessions never send. With neither patterns nor a backend, nobody may send (the safe default).
 */
export class DirectMessagePolicy {
  private readonly patterns: IdentityPattern[];

  constructor(private readonly rules: Readonly<Config['directMessages']>, private readonly authorizer = new BackendAuthorizer()) {
    this.patterns = rules.allow.map(compileIdentityPattern);
  }

  /** Throws SEND_FORBIDDEN (or BACKEND_ERROR/BACKEND_TIMEOUT when the backend cannot answer). */
  async assertMayMessage(sender: Identity, session: string, to: string): Promise<void> {
    if (sender.user === null) throw new WsgateError('SEND_FORBIDDEN');
    // Mirroring to one's own other sessions reveals nothing and needs no permission.
    if (to === sender.user) return;
    if (this.patterns.some((pattern) => pattern.matches(to, sender))) return;
    const backend = this.rules.authorize;
    if (backend && (await this.authorizer.allows(backend, { action: 'send', to, user: sender.user, claims: sender.claims, session }))) return;
    throw new WsgateError('SEND_FORBIDDEN', `not allowed to send to ${to}`);
  }
}
