/**
 * Folder config/: the configuration — its schema with every default, loading from file, environment and flags,
 * validation once at start (errors name the key), presets and redaction. It imports only protocol/ (names and limits);
 * every layer reads the frozen result.
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_ACTION_TYPE_LENGTH, NAMESPACE_PATTERN } from '../../protocol/names.js';

const RateLimit = Type.Object(
  {
    /** Tokens added per second. */
    rate: Type.Number({ exclusiveMinimum: 0 }),
    /** Bucket size: how many requests may come at once. */
    burst: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

/** A backend that decides what no pattern grants (channel access, direct messages). */
const AuthorizeBackend = Type.Object(
  {
    url: Type.String({ pattern: '^https?://' }),
    /** Sent as `Authorization: Bearer`. */
    apiKey: Type.String({ default: '' }),
    timeoutMs: Type.Integer({ minimum: 1, default: 2_000 }),
    /** How long an answer holds for the same question (0: ask every time). */
    cacheSeconds: Type.Integer({ minimum: 0, default: 60 }),
  },
  { additionalProperties: false },
);

/** A bucket for the application actions whose type matches `match`. */
const ActionTypeLimit = Type.Object(
  {
    /** Action types, `*` matching any characters: `chat.*`, `PROFILE_RENAME`. */
    match: Type.String({ minLength: 1, maxLength: MAX_ACTION_TYPE_LENGTH }),
    rate: Type.Number({ exclusiveMinimum: 0 }),
    burst: Type.Integer({ minimum: 1 }),
    /** `session`: each session has its own bucket; `user`: one bucket per user across the cluster (in the engine). */
    per: Type.Union([Type.Literal('session'), Type.Literal('user')], { default: 'session' }),
  },
  { additionalProperties: false },
);
/**
 * A default bucket: each field has its own default, so a layer that sets only `rate` (or only `burst`) keeps the
 * other, and a layer that sets one bucket keeps the rest.
 */
function defaultBucket(rate: number, burst: number) {
  return Type.Object(
    {
      rate: Type.Number({ exclusiveMinimum: 0, default: rate }),
      burst: Type.Integer({ minimum: 1, default: burst }),
    },
    { additionalProperties: false, default: {} },
  );
}

const Namespace = Type.Object(
  {
    private: Type.Boolean({ default: false }),
    allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    presence: Type.Boolean({ default: false }),
    publish: Type.Boolean({ default: false }),
    history: Type.Object(
      {
        size: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
        ttlSeconds: Type.Integer({ minimum: 1, default: 300 }),
      },
      { additionalProperties: false, default: {} },
    ),
    maxSubscribers: Type.Integer({ minimum: 0, default: 0 }),
    /**
     * A backend decides access that no `allow` pattern grants: the gateway asks it before a subscribe, publish,
     * presence or history request, and remembers each answer for a while.
     */
    authorize: Type.Optional(AuthorizeBackend),
    webhooks: Type.Object(
      {
        /** Send `channel.published` for client publications in this namespace. */
        published: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    rateLimits: Type.Object(
      {
        publish: Type.Optional(RateLimit),
        subscribe: Type.Optional(RateLimit),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/**
 * One Pusher Channels app: what `pusher-js` clients (`/app/{key}`) and Pusher server SDKs (`/apps/{id}/...`) name, with
 * the secret both sides sign with. Its channels live in namespaces of their own (`pusher-<id>`, see src/server/pusher/).
 */
const PusherApp = Type.Object(
  {
    /** The app id of the HTTP API (`/apps/{id}`); it names the app's namespaces, hence the short lower-case alphabet. */
    id: Type.String({ pattern: '^[a-z0-9_-]{1,40}$' }),
    /** The public key clients connect with (`/app/{key}`) and server SDKs sign with (`auth_key`). */
    key: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }),
    /** The shared secret of channel, user and request signatures, and of webhook signatures. */
    secret: Type.String({ minLength: 8, maxLength: 256 }),
    /** Pusher's "client events" app setting: `client-*` events on private and presence channels. */
    clientEvents: Type.Boolean({ default: true }),
    /** Client events one connection may send (Pusher's default: 10 per second); over it, error 4301. */
    clientEventRate: defaultBucket(10, 10),
    /** Largest event `data` in bytes, from clients and the HTTP API (Pusher's default: 10 KB). */
    maxEventBytes: Type.Integer({ minimum: 1, default: 10_240 }),
    /** Members a presence channel admits (Pusher's limit: 100). */
    maxPresenceMembers: Type.Integer({ minimum: 1, default: 100 }),
    /** Where Pusher-format webhooks go (`X-Pusher-Key`, `X-Pusher-Signature`); none: no webhooks for this app. */
    webhooks: Type.Array(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://' }),
          /** Pusher event names to send (`channel_occupied`, `member_added`, ...); empty: all of them. */
          events: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    host: Type.String({ default: '0.0.0.0' }),
    /**
     * Several processes listen on the same port and the kernel spreads new connections over them (`SO_REUSEPORT`,
     * Linux). They must share an engine: each process is a node of the cluster.
     */
    reusePort: Type.Boolean({ default: false }),
    /**
     * Connections the kernel completes and holds until the node accepts them (`listen()`'s backlog; Linux caps it at
     * `net.core.somaxconn`). Node's own 511 can overflow while a busy node's loop is late in a reconnect storm: the kernel
     * then drops connection attempts, the balancer's connect times out, and it may mark a live node down.
     */
    listenBacklog: Type.Integer({ minimum: 1, maximum: 65535, default: 4096 }),
    /** Random per process when empty; must be unique in the cluster. */
    nodeId: Type.String({ default: '', pattern: '^[A-Za-z0-9_.-]{0,64}$' }),
    /** Origins allowed to open WebSockets. Empty = the gateway's own origin on localhost. `*` allows any. */
    allowedOrigins: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    /** Keys accepted by the server API (`Authorization: Bearer`). Several, so they can rotate. */
    apiKeys: Type.Array(Type.String({ minLength: 16 }), { default: [] }),
    /** Where the real client address comes from when the node sits behind proxies or load balancers. */
    proxy: Type.Object(
      {
        /** Addresses and CIDRs (`10.0.0.0/8`, `::1`) of proxies whose word about the client address is believed. */
        trustedProxies: Type.Array(Type.String({ pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' }), { default: [] }),
        /** The header trusted proxies put the client address in. */
        header: Type.Union([Type.Literal('x-forwarded-for'), Type.Literal('forwarded'), Type.Literal('none')], { default: 'x-forwarded-for' }),
        /** Connections from trusted proxies start with a PROXY protocol header (v1 or v2, HAProxy `send-proxy-v2`). */
        protocol: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The node terminates TLS itself (HTTPS and `wss://`) when both are set; SIGHUP reloads them. */
    tls: Type.Object(
      {
        /** PEM file with the certificate (and its chain). */
        cert: Type.String({ default: '' }),
        /** PEM file with the private key. */
        key: Type.String({ default: '' }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        /** The request line and headers must arrive within this; slower requests get 408. */
        headersTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
        /** The whole request, headers and body, must arrive within this; slower requests get 408. */
        requestTimeoutMs: Type.Integer({ minimum: 1, default: 30_000 }),
        /** Longest pause between two parts of a request body; a body that stalls longer gets 408. */
        bodyTimeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
        /** An idle keep-alive connection is closed after this. */
        keepAliveTimeoutMs: Type.Integer({ minimum: 1, default: 5_000 }),
        /** Requests one keep-alive connection may carry before the node closes it (0 = unlimited). */
        maxRequestsPerSocket: Type.Integer({ minimum: 0, default: 1_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    ws: Type.Object(
      {
        path: Type.String({ pattern: '^/', default: '/ws' }),
        maxPayload: Type.Integer({ minimum: 128, maximum: 16 * 1024 * 1024, default: 65536 }),
        perMessageDeflate: Type.Boolean({ default: false }),
        /** Fragments one message may arrive in; a flood of tiny fragments is refused. */
        maxFragments: Type.Integer({ minimum: 1, default: 1024 }),
        /** Socket chunks the frame parser buffers before refusing the connection. */
        maxBufferedChunks: Type.Integer({ minimum: 1, default: 8192 }),
        pingIntervalMs: Type.Integer({ minimum: 100, default: 25_000 }),
        pingTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
        /** Bytes a session may have queued (ws buffer + send queue) before it is evicted as a slow consumer. */
        sendQueueBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
        /** Consecutive malformed frames before the session is closed with PROTOCOL_ERROR. */
        maxBadFrames: Type.Integer({ minimum: 1, default: 10 }),
        /** A closing session whose client has not finished the close handshake within this is dropped. */
        closeTimeoutMs: Type.Integer({ minimum: 100, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Sessions carried by streaming HTTP responses (`GET /sse`, `POST /stream`) with client frames sent by
     * `POST /emulation`, for clients whose WebSocket upgrade a proxy breaks (docs/protocol.md).
     */
    streaming: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** A stream that carried nothing for this long gets a heartbeat (an SSE comment, an empty line), so idle proxies keep it open. */
        heartbeatMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 20_000 }),
        /** A POST that arrives ahead of its predecessors (by `seq`) waits this long for them; then the gap is skipped. */
        orderWaitMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 2_000 }),
        /** POSTs one session holds ahead of a gap; beyond it the gap is skipped at once. */
        maxPendingPosts: Type.Integer({ minimum: 1, maximum: 1_000, default: 32 }),
        /** Frames one POST may carry. */
        maxFramesPerPost: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** How a node keeps each channel's publications in offset order for its subscribers (docs/protocol.md). */
    delivery: Type.Object(
      {
        /**
         * A publication that arrives ahead of its predecessors waits this long for them; then the missing ones are
         * read from history, and what history lacks is announced as `lost`.
         */
        reorderWindowMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200 }),
        /** Publications one channel holds ahead of a gap; beyond it the gap is resolved at once. */
        maxBufferedPublications: Type.Integer({ minimum: 1, default: 1_000 }),
        /** Bytes one channel holds ahead of a gap; beyond it the gap is resolved at once. */
        maxBufferedBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
        /**
         * A channel that went quiet after publications (or after being held, or a broker reconnect) has its stream
         * position read once after this long without deliveries, so a publication the broker dropped at the end of
         * traffic is read from history instead of waiting for the next one to reveal the gap. 0: off.
         */
        tailCheckMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 2_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        anonymous: Type.Boolean({ default: false }),
        /** `POST /auth/dev-login {user}` sets a session cookie for any name. Never enable in production. */
        devLogin: Type.Boolean({ default: false }),
        tickets: Type.Object(
          {
            ttlSeconds: Type.Integer({ minimum: 1, default: 30 }),
            maxTtlSeconds: Type.Integer({ minimum: 1, default: 300 }),
            /** Lifetime of a session opened with a ticket that names none; 0 = it does not expire. */
            sessionTtlSeconds: Type.Integer({ minimum: 0, default: 0 }),
          },
          { additionalProperties: false, default: {} },
        ),
        jwt: Type.Object(
          {
            /** HMAC secrets; the first signs (dev login), all verify. */
            secrets: Type.Array(Type.String({ minLength: 16 }), { default: [] }),
            /** Path of a JWKS file with public keys (RS*, ES*, EdDSA). */
            jwksFile: Type.String({ default: '' }),
            /** `https://` URL of a JWKS with public keys, fetched and cached; rotation by `kid`. */
            jwksUrl: Type.String({ pattern: '^(https://.+)?$', default: '' }),
            /** PEM file of a CA trusted (besides the system's) for `jwksUrl`. */
            jwksCaFile: Type.String({ default: '' }),
            /** The keys are fetched again after this long. */
            jwksCacheSeconds: Type.Integer({ minimum: 1, default: 600 }),
            /** A token with an unknown `kid` fetches the keys again at most once per this long. */
            jwksCooldownSeconds: Type.Integer({ minimum: 0, default: 30 }),
            jwksTimeoutMs: Type.Integer({ minimum: 1, default: 5_000 }),
            issuer: Type.String({ default: '' }),
            audience: Type.String({ default: '' }),
          },
          { additionalProperties: false, default: {} },
        ),
        refresh: Type.Object(
          {
            /** `refresh_required` is sent this long before a credential expires (or halfway through, when sooner). */
            leadSeconds: Type.Integer({ minimum: 1, default: 30 }),
          },
          { additionalProperties: false, default: {} },
        ),
        revocation: Type.Object(
          {
            /** How long a revocation lasts when the call names no `until`. */
            defaultSeconds: Type.Integer({ minimum: 1, default: 86_400 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** A backend admits handshakes that carry no ticket or token (instead of the session cookie). */
        connectHook: Type.Object(
          {
            /** Empty: no connect hook. */
            url: Type.String({ pattern: '^(https?://.+)?$', default: '' }),
            /** Sent as `Authorization: Bearer`. */
            apiKey: Type.String({ default: '' }),
            /** Handshake headers passed on to the backend, besides the cookies and the client address. */
            headers: Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }), { default: [] }),
            timeoutMs: Type.Integer({ minimum: 1, default: 2_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
        cookie: Type.Object(
          {
            name: Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_-]+$', default: 'wsgate_session' }),
            /** HMAC secrets for the session cookie's JWT; the first signs, all verify. */
            secrets: Type.Array(Type.String({ minLength: 16 }), { default: [] }),
            maxAgeSeconds: Type.Integer({ minimum: 60, default: 86_400 }),
            secure: Type.Boolean({ default: false }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    sessions: Type.Object(
      {
        max: Type.Integer({ minimum: 0, default: 0 }),
        onLimit: Type.Union([Type.Literal('kick-oldest'), Type.Literal('reject-new')], { default: 'kick-oldest' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Who may `send` to whom. Nobody may, unless a pattern or the backend says so. */
    directMessages: Type.Object(
      {
        /**
         * Recipients a sender may message: patterns over the recipient's user id with the sender's `{user}` and
         * `{claims.NAME}` placeholders and `*`, like channel `allow` (`*`: anyone; `{claims.contacts}`; `{claims.org}-*`).
         */
        allow: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        /** A backend decides the sends no pattern allows. */
        authorize: Type.Optional(AuthorizeBackend),
        /** Tell the sender how many sessions of the recipient the message went to (reveals whether they are online). */
        revealSessions: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
    namespaces: Type.Record(Type.String({ pattern: NAMESPACE_PATTERN.source }), Namespace, { default: {} }),
    limits: Type.Object(
      {
        /** Sessions this node accepts (0 = unlimited). */
        maxSessions: Type.Integer({ minimum: 0, default: 0 }),
        maxSubscriptionsPerSession: Type.Integer({ minimum: 1, default: 256 }),
        /** Open connections (and handshakes in progress) per client IP on this node; 0 = unlimited. */
        maxConnectionsPerIp: Type.Integer({ minimum: 0, default: 0 }),
        /** Handshakes per client IP per second (token bucket; 0 = unlimited). */
        connectRate: Type.Number({ minimum: 0, default: 0 }),
        connectBurst: Type.Integer({ minimum: 1, default: 50 }),
        /** Handshakes in progress on this node (request to welcome or refusal); beyond it 503 NODE_BUSY. 0 = unlimited. */
        maxHandshakes: Type.Integer({ minimum: 0, default: 256 }),
        /** A handshake still in progress after this long is ended (its client's deadline has passed). 0 = no bound. */
        handshakeTimeoutMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000 }),
        /** Default per-session buckets; namespaces may override publish and subscribe. */
        rate: Type.Object(
          {
            publish: defaultBucket(100, 200),
            subscribe: defaultBucket(50, 100),
            send: defaultBucket(50, 100),
            action: defaultBucket(100, 200),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Buckets for application action types; the first matching entry wins, others use `rate.action`. */
        actionTypes: Type.Array(ActionTypeLimit, { default: [] }),
        /** Rate-limited requests in a row before the session is closed with RATE_LIMITED. */
        maxRateLimitStrikes: Type.Integer({ minimum: 1, default: 50 }),
        /** Largest server API request body in bytes. */
        apiBodyBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
        /** History and recovery replies: paged by bytes, and bounded in bytes while they wait to be written. */
        history: Type.Object(
          {
            /** Publication bytes one `history` or recovering `subscribed` reply carries; the rest is asked for with `since`. */
            replyBytes: Type.Integer({ minimum: 1024, default: 256 * 1024 }),
            /** History bytes read for one session and not yet written to its socket; over it: RATE_LIMITED. */
            sessionBytes: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
            /** The same bound for all sessions of the node together. */
            nodeBytes: Type.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    api: Type.Object(
      {
        /** Calls per API key across the cluster (token bucket; rate 0 = unlimited). */
        rateLimit: Type.Object(
          {
            rate: Type.Number({ minimum: 0, default: 0 }),
            burst: Type.Integer({ minimum: 1, default: 100 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** One info log line per state-changing call: key id, route, target, status (never the key). */
        audit: Type.Boolean({ default: true }),
        idempotency: Type.Object(
          {
            /** How long the answer to a request with an `Idempotency-Key` is remembered; a retry within it counts once. */
            ttlSeconds: Type.Integer({ minimum: 1, default: 600 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    actions: Type.Object(
      {
        /** Which backend owns which application action types; the first matching route wins. */
        routes: Type.Array(
          Type.Object(
            {
              /** Action types, `*` matching any characters: `order.*`, `CHAT_*`. */
              match: Type.String({ minLength: 1, maxLength: MAX_ACTION_TYPE_LENGTH }),
              url: Type.String({ pattern: '^https?://' }),
              /** Sent to the backend as `Authorization: Bearer`. */
              apiKey: Type.String({ default: '' }),
              timeoutMs: Type.Integer({ minimum: 1, default: 5_000 }),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
        /** Backend calls in flight on this node; beyond it actions are refused with RATE_LIMITED. */
        maxPending: Type.Integer({ minimum: 1, default: 1_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    engine: Type.Object(
      {
        kind: Type.Union(
          [Type.Literal('memory'), Type.Literal('redis'), Type.Literal('redis-cluster'), Type.Literal('nats')],
          { default: 'memory' },
        ),
        /** Redis URLs: one server, several shards (consistent hashing), or cluster seeds. */
        redisUrls: Type.Array(Type.String({ pattern: '^rediss?://' }), { default: [] }),
        natsUrls: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        /** Prefix of every key and channel in the shared store, so several deployments can share it. */
        prefix: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'wsgate' }),
        /** A node whose lease is not renewed within this time is dead and its sessions are purged. */
        leaseMs: Type.Integer({ minimum: 1000, default: 10_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    cluster: Type.Object(
      {
        /**
         * Cluster-wide state: each node's stats ride on its lease renewals and its channel subscriber counts follow
         * them, so `/api/info`, `/api/nodes` and `/api/channels` answer for the whole cluster. Off: they answer for
         * this node.
         */
        state: Type.Boolean({ default: true }),
        /** Channels one node lists in the cluster-wide index at most (its stats still count all of them). */
        maxIndexedChannels: Type.Integer({ minimum: 1, default: 100_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    drain: Type.Object(
      {
        /** The process exits at the latest this long after the first signal. */
        timeoutMs: Type.Integer({ minimum: 0, default: 30_000 }),
        /** Sessions closed per batch, and the pause between batches. */
        batchSize: Type.Integer({ minimum: 1, default: 500 }),
        batchIntervalMs: Type.Integer({ minimum: 0, default: 50 }),
        /** Clients are told to come back after a random delay up to this long. */
        reconnectSpreadMs: Type.Integer({ minimum: 0, default: 5_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Pusher Channels protocol 7 and HTTP API, per app (none: the Pusher endpoints answer 404). */
    pusher: Type.Object(
      {
        apps: Type.Array(PusherApp, { default: [] }),
        /** Seconds of silence after which a client pings (`activity_timeout` of `pusher:connection_established`). */
        activityTimeoutSeconds: Type.Integer({ minimum: 1, default: 120 }),
        /** How far `auth_timestamp` of a signed HTTP API request may be from the node's clock (Pusher: 600 s). */
        authTimestampWindowSeconds: Type.Integer({ minimum: 1, default: 600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    webhooks: Type.Object(
      {
        /** Where lifecycle events go; none: no events are emitted at all. */
        endpoints: Type.Array(
          Type.Object(
            {
              url: Type.String({ pattern: '^https?://' }),
              /** Names the endpoint's queue in the engine and the API; default: derived from the URL. Keep it stable. */
              name: Type.String({ pattern: '^[A-Za-z0-9_.-]{0,64}$', default: '' }),
              /** Event types, `*` matching any characters (`session.*`). */
              events: Type.Array(Type.String({ minLength: 1 }), { default: ['*'] }),
              /** Standard Webhooks secrets (`whsec_...`), all signing; default: `webhooks.secrets`. */
              secrets: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
              timeoutMs: Type.Integer({ minimum: 1, default: 10_000 }),
              /** Requests in flight at once (each holds different users and channels). */
              concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
              /** Events per request at most, and how long a request waits to fill up. */
              batchSize: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
              lingerMs: Type.Integer({ minimum: 0, default: 20 }),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
        /** Signing secrets of endpoints that name none. */
        secrets: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
        /** Each endpoint's queue is split in this many partitions by user or channel; nodes share the partitions. */
        partitions: Type.Integer({ minimum: 1, maximum: 1024, default: 8 }),
        /** Events one partition holds at most (waiting or being delivered); beyond it new events are dropped and counted. */
        maxQueueLength: Type.Integer({ minimum: 1, default: 100_000 }),
        /** Events a node holds while the engine cannot take them; beyond it new events are dropped and counted. */
        maxBuffered: Type.Integer({ minimum: 1, default: 10_000 }),
        /** Dead letters kept per endpoint; beyond it new ones are dropped and counted. */
        maxDeadLetters: Type.Integer({ minimum: 1, default: 100_000 }),
        retry: Type.Object(
          {
            /** Backoff before the first retry, doubling per attempt up to maxDelayMs, each with full jitter. */
            initialDelayMs: Type.Integer({ minimum: 1, default: 1_000 }),
            maxDelayMs: Type.Integer({ minimum: 1, default: 60_000 }),
            /** How long after its emission an event is retried before it becomes a dead letter. */
            periodMs: Type.Integer({ minimum: 0, default: 600_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** A node holds its partitions under a lease this long; a dead node's partitions move on after it. */
        leaseMs: Type.Integer({ minimum: 1000, default: 10_000 }),
        /** How often a node looks for events other nodes appended to its partitions. */
        pollIntervalMs: Type.Integer({ minimum: 10, default: 100 }),
        /** A transition that arrives before the one it follows waits this long for it. */
        reorderWindowMs: Type.Integer({ minimum: 0, default: 1_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    admin: Type.Object(
      {
        /** Serve the operator console at `/admin`; it needs `passwordHash` or `secretKeys`. */
        enabled: Type.Boolean({ default: false }),
        /** `scrypt$<N>$<r>$<p>$<salt>$<hash>` (base64url; `wsgate admin hash-password` makes one). */
        passwordHash: Type.String({ default: '' }),
        /** Admin keys, each exchanged at the login form for a console session like the password. */
        secretKeys: Type.Array(Type.String({ minLength: 16 }), { default: [] }),
        /** How long a console session lasts after login. */
        sessionSeconds: Type.Integer({ minimum: 60, default: 3_600 }),
        /** Login attempts per client address across the cluster (token bucket). */
        loginRate: Type.Number({ exclusiveMinimum: 0, default: 0.2 }),
        loginBurst: Type.Integer({ minimum: 1, default: 5 }),
      },
      { additionalProperties: false, default: {} },
    ),
    web: Type.Object(
      {
        /** Serve the demo page at `/` and the client bundle at `/client.js`. */
        demo: Type.Boolean({ default: false }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type NamespaceConfig = Static<typeof Namespace>;
export type PusherAppConfig = Static<typeof PusherApp>;
export type RateLimitConfig = Static<typeof RateLimit>;
export type AuthorizeBackendConfig = Static<typeof AuthorizeBackend>;
export type ActionTypeLimitConfig = Static<typeof ActionTypeLimit>;
