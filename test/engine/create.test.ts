import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema } from '../../src/server/config/schema.js';
import { createEngine, EngineConfigError, type EngineConfig } from '../../src/server/engine/create.js';
import { MemoryEngine } from '../../src/server/engine/memory.js';
import { RedisEngine } from '../../src/server/engine/redis.js';
import { uniquePrefix } from '../support/prefix.js';
import { SHARED_NATS_URL, SHARED_REDIS_URL } from '../support/servers.js';
import { twoNodeSmoke } from './engine-smoke.js';
import { deleteKeys } from './redis-worlds.js';

/** The engine section with the schema's defaults, overridden by `patch`. */
function engineConfig(patch: Partial<EngineConfig>): EngineConfig {
  const defaults = Value.Default(ConfigSchema, {}) as { engine: EngineConfig };
  return { ...defaults.engine, ...patch };
}

describe('createEngine', () => {
  it('builds the memory engine by default, without URLs', async () => {
    const engine = createEngine(engineConfig({}));
    assert.ok(engine instanceof MemoryEngine);
    assert.equal(engine.kind, 'memory');
    await engine.close();
  });

  it('refuses a kind whose URLs are missing, naming the config key', () => {
    assert.throws(() => createEngine(engineConfig({ kind: 'redis' })), (error: Error) => error instanceof EngineConfigError && /engine\.redisUrls/.test(error.message));
    assert.throws(() => createEngine(engineConfig({ kind: 'redis-cluster' })), /engine\.redisUrls/);
    assert.throws(() => createEngine(engineConfig({ kind: 'nats', redisUrls: [SHARED_REDIS_URL] })), /engine\.natsUrls/);
    assert.throws(() => createEngine(engineConfig({ kind: 'nats', natsUrls: [SHARED_NATS_URL] })), /engine\.redisUrls/);
  });

  it('builds Redis engines without connecting, and start fails clearly when Redis is unreachable', async () => {
    const engine = createEngine(engineConfig({ kind: 'redis', redisUrls: ['redis://127.0.0.1:1'] }));
    assert.ok(engine instanceof RedisEngine);
    await assert.rejects(engine.start('node-x', { onChannelMessage() {}, onInboxMessage() {} }), /cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/);
    await engine.close();
  });

  it('runs two nodes on the redis engine', async () => {
    const prefix = uniquePrefix('engine');
    try {
      await twoNodeSmoke(() => createEngine(engineConfig({ kind: 'redis', redisUrls: [SHARED_REDIS_URL], prefix })));
    } finally {
      await deleteKeys(SHARED_REDIS_URL, prefix);
    }
  });

  it('runs two nodes on the redis engine over Redis clients the caller made, and leaves them open', async () => {
    const prefix = uniquePrefix('engine');
    const made: Redis[] = [];
    const ownClient = () => {
      const client = new Redis(SHARED_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      made.push(client);
      return client;
    };
    try {
      await twoNodeSmoke(() => createEngine(engineConfig({ kind: 'redis', prefix }), { redis: { clients: [ownClient()] } }));
      assert.equal(made.length, 2);
      for (const client of made) assert.equal(await client.ping(), 'PONG', 'the caller still owns its client');
      assert.throws(() => createEngine(engineConfig({ kind: 'redis-cluster' }), { redis: { clients: made } }), /cluster client/);
    } finally {
      await Promise.all(made.map((client) => client.quit()));
      await deleteKeys(SHARED_REDIS_URL, prefix);
    }
  });

  it('runs two nodes on the nats engine (NATS broker, Redis stores)', async () => {
    const prefix = uniquePrefix('engine');
    try {
      await twoNodeSmoke(() => createEngine(engineConfig({ kind: 'nats', natsUrls: [SHARED_NATS_URL], redisUrls: [SHARED_REDIS_URL], prefix })));
    } finally {
      await deleteKeys(SHARED_REDIS_URL, prefix);
    }
  });

  it('starts and stops the memory engine', async () => {
    const engine = createEngine(engineConfig({}));
    await engine.start('solo', { onChannelMessage() {}, onInboxMessage() {} });
    assert.equal(engine.isHealthy(), true);
    await engine.close();
  });
});
