/**
 * Folder channels/: what channels are and who may do what in them — namespace rules (channel-rules), the backend that
 * decides where a namespace says so (backend-authorizer), and the cluster-wide index of occupied channels
 * (channel-occupancy). It decides, it does not deliver: subscribing sessions, fan-out and presence work live in node/.
 * It may import auth/ (identities), webhooks/ (lifecycle events), the engine contracts, config, protocol and
 * observability; never node/, hub/ or session/.
 */
import { WsgateError } from '../../protocol/errors.js';
import { parseChannel } from '../../protocol/names.js';
import type { NamespaceConfig } from '../config/schema.js';
import type { Identity } from '../auth/identity.js';
import { compileIdentityPattern, type IdentityPattern } from '../auth/identity-pattern.js';
import { authorizeCall, BackendAuthorizer, type ChannelAction } from './backend-authorizer.js';

export interface ResolvedChannel {
  channel: string;
  namespace: string;
  rules: NamespaceConfig;
}

/** Applies the namespace rules of the configuration to channel names and identities. */
export class ChannelRules {
  private readonly compiled = new Map<string, IdentityPattern[]>();

  constructor(
    private readonly namespaces: Readonly<Record<string, NamespaceConfig>>,
    private readonly authorizer = new BackendAuthorizer(),
  ) {
    for (const [name, rules] of Object.entries(namespaces)) this.compiled.set(name, rules.allow.map(compileIdentityPattern));
  }

  /** Validates the name and finds its namespace; throws CHANNEL_INVALID or NAMESPACE_UNKNOWN. */
  resolve(channel: unknown): ResolvedChannel {
    const parsed = parseChannel(channel);
    if (!parsed) throw new WsgateError('CHANNEL_INVALID');
    // hasOwn: "constructor:x" and "__proto__:x" are valid names but must not find Object.prototype's members.
    const rules = Object.hasOwn(this.namespaces, parsed.namespace) ? this.namespaces[parsed.namespace] : undefined;
    if (!rules) throw new WsgateError('NAMESPACE_UNKNOWN', `namespace "${parsed.namespace}" is not configured`);
    return { channel: channel as string, namespace: parsed.namespace, rules };
  }

  /**
   * Whether the identity may use the channel for `action` (publishing also needs `publish` on): a subscription
   * token's `granted` actions or an `allow` pattern grant it; otherwise the namespace's `authorize` backend decides
   * where one is configured (never for anonymous sessions in a private namespace); otherwise public namespaces are
   * open and private ones closed. Throws PUBLISH_FORBIDDEN, CHANNEL_FORBIDDEN, or BACKEND_ERROR/BACKEND_TIMEOUT when
   * the backend cannot answer.
   */
  async assertAccess(resolved: ResolvedChannel, identity: Identity, session: string, action: ChannelAction, granted?: readonly string[]): Promise<void> {
    const { rules } = resolved;
    if (action === 'publish' && !rules.publish) throw new WsgateError('PUBLISH_FORBIDDEN');
    if (granted?.includes(action) || this.allowedByPattern(resolved, identity)) return;
    if (rules.authorize) {
      if (!(rules.private && identity.user === null) && (await this.authorizer.allows(rules.authorize, authorizeCall(resolved.channel, action, identity, session)))) return;
      throw new WsgateError('CHANNEL_FORBIDDEN');
    }
    if (!rules.private) return;
    throw new WsgateError('CHANNEL_FORBIDDEN');
  }

  private allowedByPattern(resolved: ResolvedChannel, identity: Identity): boolean {
    if (identity.user === null) return false;
    return this.compiled.get(resolved.namespace)!.some((pattern) => pattern.matches(resolved.channel, identity));
  }
}
