import PusherJs, { type Channel, type ChannelAuthorizationHandler, type Options, type UserAuthenticationHandler } from 'pusher-js';
import PusherServer from 'pusher';

// pusher-js is CommonJS whose types declare an ES default export: under NodeNext the import is the module itself,
// which is (at run time) the Pusher class.
const PusherClass = PusherJs as unknown as typeof PusherJs.default;
export type Pusher = InstanceType<typeof PusherJs.default>;

/** The app the Pusher tests configure (the dev preset's shape, with its own key). */
export const APP = { id: 'test-app', key: 'test-app-key', secret: 'test-app-secret-0123' } as const;

export interface TestApp {
  id: string;
  key: string;
  secret: string;
}

/** The master key of `private-encrypted-` channels: the app's servers and their auth endpoint know it, wsgate does not. */
export const ENCRYPTION_MASTER_KEY = Buffer.alloc(32, 7);

/** The `pusher` server SDK for an app of the gateway on `port`, signing what pusher-js's auth handlers ask for. */
export function serverSdk(port: number, app: TestApp = APP): PusherServer {
  return new PusherServer({
    appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false,
    encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY.toString('base64'),
  });
}

const channelAuthorization = (sdk: PusherServer, member: PusherClientOptions['member']): ChannelAuthorizationHandler => ({ socketId, channelName }, callback) => {
  callback(null, sdk.authorizeChannel(socketId, channelName, channelName.startsWith('presence-') ? member : undefined));
};

const userAuthentication = (sdk: PusherServer, user: PusherClientOptions['user']): UserAuthenticationHandler => ({ socketId }, callback) => {
  callback(null, sdk.authenticateUser(socketId, user ?? { id: 'nobody' }));
};

export interface PusherClientOptions {
  /** The presence member this client asks its auth handler for (`user_id`, `user_info`). */
  member?: { user_id: string; user_info?: Record<string, unknown> };
  /** The user its signin handler signs (`user_data`). */
  user?: { id: string; [key: string]: unknown };
  /** Signs channel auth with the wrong secret. */
  badSecret?: boolean;
  /** The app it connects to (default APP). */
  app?: TestApp;
  extra?: Partial<Options>;
}

/**
 * An unmodified pusher-js (Node build) client of the gateway on `port`, whose channel and user auth handlers call the
 * `pusher` server SDK's `authorizeChannel` and `authenticateUser`, as an app's auth endpoint would.
 */
export function pusherClient(port: number, options: PusherClientOptions = {}): Pusher {
  const app = options.app ?? APP;
  const sdk = serverSdk(port, options.badSecret ? { ...app, secret: 'a-wrong-secret-0123' } : app);
  return new PusherClass(app.key, {
    cluster: 'wsgate',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    channelAuthorization: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: channelAuthorization(sdk, options.member),
    },
    userAuthentication: {
      endpoint: '/unused',
      transport: 'ajax',
      customHandler: userAuthentication(sdk, options.user),
    },
    ...options.extra,
  });
}

/** Resolves once the client is connected, with its socket id. */
export function connected(client: Pusher): Promise<string> {
  return new Promise((resolve) => {
    if (client.connection.state === 'connected') resolve(client.connection.socket_id);
    else client.connection.bind('connected', () => resolve(client.connection.socket_id));
  });
}

/** Resolves once the connection is in `state` (at once when it is). */
export function stateReached(client: Pusher, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (client.connection.state === state) resolve();
    else client.connection.bind('state_change', ({ current }: { current: string }) => current === state && resolve());
  });
}

/** The next `event` on `channel` (or on the client's user, for `channel` null), with its data. */
export function nextEvent<T = unknown>(target: Channel | Pusher['user'], event: string): Promise<T> {
  return new Promise((resolve) => {
    const handler = (data: T) => {
      target.unbind(event, handler);
      resolve(data);
    };
    target.bind(event, handler);
  });
}

/** The next `event` on `channel` with the metadata pusher-js passes along (the sender's `user_id` of a client event). */
export function nextEventWithMetadata<T = unknown>(channel: Channel, event: string): Promise<{ data: T; userId?: string }> {
  return new Promise((resolve) => {
    const handler = (data: T, metadata?: { user_id?: string }) => {
      channel.unbind(event, handler);
      resolve({ data, userId: metadata?.user_id });
    };
    channel.bind(event, handler);
  });
}

/** Subscribes and resolves once `pusher:subscription_succeeded` arrived, with its data (members, for presence). */
export async function subscribed<T = unknown>(client: Pusher, name: string): Promise<{ channel: Channel; data: T }> {
  const channel = client.subscribe(name);
  const data = await nextEvent<T>(channel, 'pusher:subscription_succeeded');
  return { channel, data };
}

interface ReportedError {
  code?: number | null;
  message?: string;
}

/** The next error the connection reports (a `pusher:error`, or the close of the socket with its code). */
export function nextError(client: Pusher): Promise<ReportedError> {
  return new Promise((resolve) => {
    const handler = (error: { data?: ReportedError; error?: { data?: ReportedError } }) => {
      client.connection.unbind('error', handler);
      resolve(error.data ?? error.error?.data ?? {});
    };
    client.connection.bind('error', handler);
  });
}

/** The next close or error code the connection reports. */
export async function nextErrorCode(client: Pusher): Promise<number | null | undefined> {
  return (await nextError(client)).code;
}
