/**
 * Folder pusher/: what wsgate needs to speak for Pusher Channels apps — the apps of the configuration, how a Pusher
 * channel name maps onto a wsgate channel, and the HMAC signatures of channel and user authentication, of HTTP API
 * requests and of webhooks. Pure functions and lookups: it imports only protocol/ and config/; the codec, transport,
 * node, api and webhooks layers use it.
 */
import type { PusherAppConfig } from '../config/schema.js';

/** The configured Pusher apps, found by the key clients connect with or the id the HTTP API names. */
export class PusherApps {
  private readonly byKey = new Map<string, PusherAppConfig>();
  private readonly byId = new Map<string, PusherAppConfig>();

  constructor(apps: readonly PusherAppConfig[]) {
    for (const app of apps) {
      this.byKey.set(app.key, app);
      this.byId.set(app.id, app);
    }
  }

  withKey(key: string): PusherAppConfig | undefined {
    return this.byKey.get(key);
  }

  withId(id: string): PusherAppConfig | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }
}
