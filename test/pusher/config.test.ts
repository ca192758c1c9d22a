import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginPolicy } from '../../src/server/auth/origin-policy.js';
import { loadConfig } from '../../src/server/config/load.js';

const APP = { id: 'shop', key: 'shop-key', secret: 'shop-secret-1' };

describe('Pusher apps in the configuration', () => {
  it('give each app its four namespaces, private to wsgate clients, presence and cache where the sort says', () => {
    const config = loadConfig({ overrides: { pusher: { apps: [APP] } } });
    assert.deepEqual(Object.keys(config.namespaces).filter((name) => name.startsWith('pusher-')).sort(), [
      'pusher-shop', 'pusher-shop-cache', 'pusher-shop-presence', 'pusher-shop-presence-cache',
    ]);
    assert.equal(config.namespaces['pusher-shop']!.private, true);
    assert.equal(config.namespaces['pusher-shop']!.publish, false);
    assert.equal(config.namespaces['pusher-shop-presence']!.presence, true);
    assert.equal(config.namespaces['pusher-shop-cache']!.presence, false);
    assert.equal(config.namespaces['pusher-shop-cache']!.history.size, 1);
    assert.equal(config.pusher.apps[0]!.clientEvents, true);
    assert.equal(config.pusher.apps[0]!.maxEventBytes, 10_240);
  });

  it('the dev preset has exactly the public development app, and pages on other localhost ports may connect', () => {
    const config = loadConfig({ dev: true });
    const origins = new OriginPolicy(config.allowedOrigins, config.port);
    assert.equal(origins.allows('http://localhost:3000'), true);
    assert.equal(origins.allows('https://127.0.0.1:5173'), true);
    assert.equal(origins.allows('http://app.example.com'), false);
    assert.deepEqual(config.pusher.apps.map(({ id, key, secret }) => ({ id, key, secret })), [
      { id: 'wsgate-dev', key: 'wsgate-dev-key', secret: 'wsgate-dev-secret' },
    ]);
  });

  it('refuses hand-made namespaces with the apps\' prefix, and two apps with one id or key', () => {
    assert.throws(() => loadConfig({ overrides: { namespaces: { 'pusher-x': {} } } }), /namespaces\.pusher-x: the prefix "pusher-" is reserved/);
    assert.throws(() => loadConfig({ overrides: { pusher: { apps: [APP, { ...APP, key: 'other-key' }] } } }), /pusher\.apps\.1\.id: "shop" names two apps/);
    assert.throws(() => loadConfig({ overrides: { pusher: { apps: [APP, { ...APP, id: 'other' }] } } }), /pusher\.apps\.1\.key: "shop-key" is the key of two apps/);
    assert.throws(() => loadConfig({ overrides: { pusher: { apps: [{ ...APP, id: 'Upper' }] } } }), /pusher\/apps\/0\/id|pusher\.apps\.0\.id/);
  });
});
