import type { Config } from '../config/schema.js';
import type { Engine, EngineKind } from './engine.js';
import { MemoryEngine } from './memory.js';

type EngineFactory = (config: Config['engine']) => Promise<Engine>;

/** One constructor per engine kind; the shared-store engines are loaded only when chosen. */
const FACTORIES: Record<EngineKind, EngineFactory> = {
  memory: async () => new MemoryEngine(),
  redis: async () => {
    throw new Error('engine.kind "redis" is not available in this build');
  },
  'redis-cluster': async () => {
    throw new Error('engine.kind "redis-cluster" is not available in this build');
  },
  nats: async () => {
    throw new Error('engine.kind "nats" is not available in this build');
  },
};

export function createEngine(config: Config['engine']): Promise<Engine> {
  return FACTORIES[config.kind](config);
}
