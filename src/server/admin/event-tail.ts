import type { WebhookEvent } from '../webhooks/events.js';

/** A lifecycle event as the console shows it (the webhook event's shape, `seq` and all inside `data`). */
export type TappedEvent = WebhookEvent;

/**
 * The latest lifecycle events this console saw, this node's and those other nodes sent (bounded ring), and the
 * streams that follow them live.
 */
export class EventTail {
  private readonly ring: TappedEvent[] = [];
  private readonly listeners = new Set<(event: TappedEvent) => void>();

  constructor(private readonly capacity = 500) {}

  push(event: TappedEvent): void {
    this.ring.push(event);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const listener of this.listeners) listener(event);
  }

  recent(): readonly TappedEvent[] {
    return this.ring;
  }

  follow(listener: (event: TappedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get followers(): number {
    return this.listeners.size;
  }
}
