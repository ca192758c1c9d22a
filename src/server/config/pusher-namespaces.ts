/**
 * The namespaces that carry the channels of Pusher apps. Every app gets four, named after its id: presence channels
 * need presence on, cache channels a history of one event, and the rules of a namespace hold for all its channels.
 * Their channels are reached through the Pusher protocol, which checks Pusher's signatures and then subscribes and
 * publishes on the session's behalf; to wsgate-protocol clients they are private, and closed to client publishing.
 */

/** Namespaces configured by hand may not take this prefix: it belongs to Pusher apps. */
export const PUSHER_NAMESPACE_PREFIX = 'pusher-';

/** The namespace of an app's channels of one sort (`presence`: a `presence-` channel; `cache`: a cache channel). */
export function pusherNamespaceName(appId: string, sort: { presence: boolean; cache: boolean }): string {
  return `${PUSHER_NAMESPACE_PREFIX}${appId}${sort.presence ? '-presence' : ''}${sort.cache ? '-cache' : ''}`;
}

/** Pusher keeps a cache channel's last event for 30 minutes. */
const CACHE_TTL_SECONDS = 1_800;

/**
 * The namespaces of the apps, as a config layer: the schema fills in every other key. An app with webhooks has its
 * client events reported (`channel.published`), which its endpoints receive as Pusher's `client_event`.
 */
export function pusherNamespaces(apps: ReadonlyArray<{ id: string; webhooks: boolean }>): Record<string, Record<string, unknown>> {
  const namespaces: Record<string, Record<string, unknown>> = {};
  for (const { id: appId, webhooks } of apps) {
    for (const presence of [false, true]) {
      for (const cache of [false, true]) {
        namespaces[pusherNamespaceName(appId, { presence, cache })] = {
          private: true,
          publish: false,
          presence,
          history: cache ? { size: 1, ttlSeconds: CACHE_TTL_SECONDS } : { size: 0 },
          webhooks: { published: webhooks },
        };
      }
    }
  }
  return namespaces;
}
