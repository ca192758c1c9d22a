/** The development webhook signing secret: public, like every secret of the preset. */
export const DEV_WEBHOOK_SECRET = 'whsec_d3NnYXRlLWRldi13ZWJob29rLXNlY3JldC1wdWJsaWM=';

/**
 * The development preset behind `npm start` (`wsgate serve --dev`): a chat namespace anyone can use, organisation and
 * user namespaces guarded by claims, anonymous access, the dev login and the demo page. Its secrets are public: never
 * run it in production.
 */
export const DEV_PRESET = {
  apiKeys: ['wsgate-dev-api-key'],
  // Pages of apps under development run on other localhost ports (a Pusher app's, a dev server's).
  allowedOrigins: ['http', 'https'].flatMap((scheme) => ['localhost', '127.0.0.1', '[::1]'].map((host) => `${scheme}://${host}:*`)),
  auth: {
    anonymous: true,
    devLogin: true,
    jwt: { secrets: ['wsgate-dev-jwt-secret-not-for-production'] },
    cookie: { secrets: ['wsgate-dev-cookie-secret-not-for-production'] },
  },
  namespaces: {
    chat: { presence: true, publish: true, history: { size: 100, ttlSeconds: 600 }, webhooks: { published: true } },
    org: {
      private: true,
      allow: ['org:{claims.org}', 'org:{claims.org}/*'],
      presence: true,
      publish: true,
      history: { size: 100, ttlSeconds: 600 },
    },
    user: { private: true, allow: ['user:{user}'], presence: false, publish: false },
  },
  // Anyone may message anyone, and learns whether they are online: a demo, not a policy.
  directMessages: { allow: ['*'], revealSessions: true },
  web: { demo: true },
  // Signs webhooks to endpoints added with `--webhook <url>`; `wsgate webhooks tail` knows it.
  webhooks: { secrets: [DEV_WEBHOOK_SECRET] },
  // One Pusher app for pusher-js and the Pusher server SDKs: its secret is public, like every secret of the preset.
  pusher: { apps: [{ id: 'wsgate-dev', key: 'wsgate-dev-key', secret: 'wsgate-dev-secret' }] },
} as const;
