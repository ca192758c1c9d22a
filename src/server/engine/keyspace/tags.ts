/**
 * Routing tags: every key and pub/sub channel of the shared store is `<prefix>:{<tag>}:<suffix>`. The tag decides where
 * the key lives — the shard (jump hash of the tag) with several Redis instances, the slot (hash tag) in Redis Cluster —
 * so all keys of one user, one channel or one node sit together and a Lua script may touch them atomically.
 */
export const RoutingTag = {
  user: (user: string) => `u:${user}`,
  channel: (channel: string) => `c:${channel}`,
  node: (node: string) => `n:${node}`,
  session: (session: string) => `s:${session}`,
  ticket: (ticketHash: string) => `t:${ticketHash}`,
  idempotency: (key: string) => `i:${key}`,
  /** One partition of a webhook endpoint's queue (its stream and lease). */
  webhookPartition: (partition: string) => `w:${partition}`,
  /** A webhook endpoint's dead letters. */
  webhookDeadLetters: (list: string) => `wd:${list}`,
  /** A token id (`jti`), for its revocation. */
  token: (jti: string) => `j:${jti}`,
  /** A server API key, by its id (a digest prefix, never the key). */
  apiKey: (keyId: string) => `k:${keyId}`,
  /** The routes backends registered: one key for the whole deployment. */
  actionRoutes: () => 'routes',
  /** The set of known nodes: one key for the whole deployment. */
  nodeDirectory: () => 'nodes',
} as const;
