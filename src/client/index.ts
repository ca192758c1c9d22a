/**
 * Folder client/: `wsgate/client`, the browser and Node client SDK of the wsgate gateway. Dependency-free; protocol in
 * `docs/protocol.md`, usage in `docs/client.md`. It imports only protocol/.
 */
export { WsgateClient, CLIENT_DEFAULTS } from './client.js';
export type {
  ClientEvents,
  CredentialSource,
  DirectMessage,
  PushedAction,
  RequestOptions,
  WsgateClientOptions,
} from './client.js';
export { Subscription } from './subscription.js';
export type { CredentialStatus } from './credential-refresh.js';
export type {
  HistoryOptions,
  HistoryResult,
  LostRange,
  PresenceChange,
  Publication,
  RecoveredEvent,
  RecoveryFailedEvent,
  SubscribeOptions,
  SubscribedEvent,
  SubscriptionEvents,
  SubscriptionState,
} from './subscription.js';
export type { ClientStatus, ConnectedStatus, ConnectingStatus, DisconnectedStatus, ReconnectingStatus } from './status.js';
export { WsgateClientError, LocalErrorCode } from './errors.js';
export type { WsgateClientErrorCode } from './errors.js';
export { backoffDelay, backoffCeiling, resolveBackoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export type { TransportName } from './stream-link.js';
export { CloseCode, shouldReconnect } from '../protocol/index.js';
export type { PresenceMember, SenderRef, StreamPosition } from '../protocol/index.js';
