/** wsgate server: run a gateway node, or embed one. */
export { Gateway, type GatewayOptions } from './gateway.js';
export { loadConfig, ConfigError, type ConfigSources } from './config/load.js';
export type { Config, NamespaceConfig } from './config/schema.js';
export type { Engine, EngineKind } from './engine/engine.js';
export type { Broker, BrokerHandler, BrokerStats } from './engine/broker/broker.js';
export type { Registry, SessionRecord, SessionPolicy } from './engine/registry/registry.js';
export type { PresenceStore } from './engine/presence/presence.js';
export type { HistoryStore } from './engine/history/history.js';
export type { TicketStore, TicketGrant } from './engine/tickets/tickets.js';
export { MemoryEngine, MemoryCluster } from './engine/memory.js';
export { createEngine, type EngineOptions } from './engine/create.js';
export { failUnansweredCommands } from './engine/keyspace/unanswered-commands.js';
export type { ActionRouter } from './rpc/action-router.js';
export * from '../protocol/index.js';
