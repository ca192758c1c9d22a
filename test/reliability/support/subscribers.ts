import WebSocket from 'ws';
import { WsgateClient } from '../../../src/client/index.js';
import type { Subscription, WebSocketConstructor } from '../../../src/client/index.js';
import { lossFromLostFrame, lossFromRecoveryFailed, type ChannelRecord, type Ledger, type LossRange, type Position } from './ledger.js';
import { mintTicket, RawSession, socketOf, type Frame } from './raw-session.js';

/** A subscriber the scenario drives: it stays subscribed to its channels for the whole run, across reconnects. */
export interface LedgerSubscriber {
  readonly label: string;
  readonly user: string;
  /** The node of the current connection (undefined while reconnecting). */
  node(): string | undefined;
  /** Resolves once connected and every channel is subscribed on that connection. */
  ready(): Promise<void>;
  /** Stops reading the socket (the node's send queue fills), and reads again. */
  pause(): void;
  resume(): void;
  close(): void;
}

/** The publication id a test payload carries. */
export interface Payload {
  id: string;
  pad?: string;
}

/** Resolves `waiters` when `isReady()` holds; a tiny helper both subscriber kinds share. */
class Readiness {
  #waiters: Array<() => void> = [];
  constructor(private readonly isReady: () => boolean) {}
  wait(): Promise<void> {
    if (this.isReady()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  poke(): void {
    if (this.isReady()) for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/**
 * A hand-written protocol client: subscribes on every connection, with `recover` at the last position it saw;
 * records `message` frames, replays in `subscribed.publications`, `lost` frames and `recovered: false` answers.
 */
export function startRawSubscriber(ledger: Ledger, label: string, balancerHttpUrl: string, channels: string[]): LedgerSubscriber {
  const records = new Map(channels.map((channel) => [channel, ledger.record(label, channel)] as const));
  const last = new Map<string, Position>();
  let live = new Set<string>();
  const readiness = new Readiness(() => session.connected && live.size === channels.length);

  const seen = (channel: string, position: Position) => {
    const previous = last.get(channel);
    // A naive client follows a new epoch and otherwise keeps the highest offset.
    if (!previous || previous.epoch !== position.epoch || position.offset > previous.offset) last.set(channel, { ...position });
  };

  // The recover position of each subscribe in flight. Its reply is recorded when the frame arrives, in the order of the
  // stream: a request's promise settles only after the live frames that followed the reply in the same read.
  const inFlight = new Map<string, Position | undefined>();
  const onSubscribed = (channel: string, reply: Frame) => {
    const record = records.get(channel)!;
    const recover = inFlight.get(channel);
    inFlight.delete(channel);
    const position = { offset: Number(reply.offset), epoch: String(reply.epoch) };
    if (!recover) ledger.subscribed(record, position);
    else if (reply.recovered === true) {
      for (const publication of (reply.publications as Frame[] | undefined) ?? []) {
        const at = { offset: Number(publication.offset), epoch: String(publication.epoch) };
        ledger.deliver(record, (publication.data as Payload).id, at, true);
        seen(channel, at);
      }
    } else {
      ledger.lose(record, lossFromRecoveryFailed(recover, position));
      last.set(channel, position);
    }
    seen(channel, position);
  };

  const subscribe = async (channel: string, connection: number) => {
    const recover = last.get(channel);
    inFlight.set(channel, recover);
    const outcome = await session.request({ type: 'subscribe', channel, ...(recover ? { recover } : {}) });
    if (connection !== session.connections) return;
    if ('failed' in outcome) {
      inFlight.delete(channel);
      // Not subscribed on this connection: try again while it lasts (the engine may be restarting).
      if (outcome.failed !== 'disconnected') setTimeout(() => void subscribe(channel, connection), 100);
      return;
    }
    live.add(channel);
    readiness.poke();
  };

  const session: RawSession = new RawSession(label, balancerHttpUrl, label, {
    onWelcome() {
      live = new Set();
      inFlight.clear();
      const connection = session.connections;
      for (const channel of channels) void subscribe(channel, connection);
    },
    onFrame(frame) {
      const channel = String(frame.channel);
      const record = records.get(channel);
      if (!record) return;
      if (frame.type === 'subscribed' && frame.id !== undefined && inFlight.has(channel)) {
        onSubscribed(channel, frame);
      } else if (frame.type === 'message') {
        const position = { offset: Number(frame.offset), epoch: String(frame.epoch) };
        ledger.deliver(record, (frame.data as Payload).id, position, false);
        seen(channel, position);
      } else if (frame.type === 'lost') {
        const lost = frame as unknown as { epoch: string; from: number; to: number | null };
        ledger.lose(record, lossFromLostFrame(lost));
        if (lost.to !== null) seen(channel, { offset: lost.to, epoch: lost.epoch });
      } else if (frame.type === 'unsubscribed' && frame.id === undefined) {
        // The gateway dropped the subscription; a client that wants the channel subscribes again from where it was.
        live.delete(channel);
        void subscribe(channel, session.connections);
      }
    },
  });
  session.start();
  return {
    label,
    user: label,
    node: () => session.node,
    ready: () => readiness.wait(),
    pause: () => session.pause(),
    resume: () => session.resume(),
    close: () => session.close(),
  };
}

/**
 * The SDK's loss signals for one subscription, as ledger ranges. The one place that knows which SDK events mean
 * "these offsets will not come": the `lost` event, which the SDK also emits, with exact ranges, for a failed recovery
 * (docs/client.md, "Order and loss").
 */
export function onSdkLoss(subscription: Subscription<Payload>, report: (ranges: LossRange[]) => void): void {
  subscription.on('lost', (range) => report(lossFromLostFrame(range)));
}

/** A `WsgateClient` (on `ws`, whose socket can be paused) subscribed to `channels`, reconnecting through `url`. */
export function startSdkSubscriber(ledger: Ledger, label: string, balancerHttpUrl: string, channels: string[], wsUrl = `${balancerHttpUrl.replace(/^http/, 'ws')}/ws`): LedgerSubscriber {
  let socket: WebSocket | undefined;
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      socket = this;
    }
  }
  const client = new WsgateClient({
    url: wsUrl,
    WebSocket: TrackedWebSocket as unknown as WebSocketConstructor,
    getTicket: () => mintTicket(balancerHttpUrl, label),
    backoff: { minDelay: 50, maxDelay: 500 },
    connectTimeout: 5_000,
    requestTimeout: 8_000,
  });
  client.on('error', () => {
    // Failed attempts while a node or the store is gone are expected; the ledger tells the story.
  });
  let live = new Set<string>();
  /** Channels whose restore is in flight: messages emitted before their `subscribed` event are the replay. */
  let restoring = new Set<string>();
  const connected = () => client.status.type === 'connected';
  const readiness = new Readiness(() => connected() && live.size === channels.length);
  client.on('status', (status) => {
    if (status.type === 'connected') {
      live = new Set();
      restoring = new Set(channels);
    }
    readiness.poke();
  });
  for (const channel of channels) {
    const record: ChannelRecord = ledger.record(label, channel);
    const subscription = client.subscribe<Payload>(channel);
    subscription.on('message', (publication) => {
      ledger.deliver(record, publication.data.id, { offset: publication.offset, epoch: publication.epoch }, restoring.has(channel));
    });
    subscription.on('subscribed', ({ position, resubscribed }) => {
      if (!resubscribed) ledger.subscribed(record, position);
      restoring.delete(channel);
      live.add(channel);
      readiness.poke();
    });
    onSdkLoss(subscription, (ranges) => ledger.lose(record, ranges));
  }
  client.connect();
  return {
    label,
    user: label,
    node: () => (client.status.type === 'connected' ? client.status.node : undefined),
    ready: () => readiness.wait(),
    pause: () => socketOf(socket).pause(),
    resume: () => socketOf(socket).resume(),
    close: () => client.disconnect(),
  };
}
