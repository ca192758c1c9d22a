/**
 * The delivery ledger: every publication the test attempted, what the gateway answered, and what each subscriber
 * received or was told it lost. `check` holds the subscribers to the delivery guarantee of docs/protocol.md.
 *
 * Events are ordered by one logical clock (`tick`): the test process is single-threaded, so "the publish request was
 * sent after the subscribe reply arrived" is a plain comparison, never a wall-clock race.
 */

export interface Position {
  offset: number;
  epoch: string;
}

/** One publish request the test sent; `accepted` once the gateway answered with the publication's position. */
export interface PublishAttempt {
  readonly id: string;
  readonly channel: string;
  /** Which publisher sent it (`api@node-2`, `raw@node-1`, `sdk@node-3`), for failure messages. */
  readonly via: string;
  /** Tick at which the request was sent. */
  readonly sentAt: number;
  accepted?: Position;
  /** Why no position came back (HTTP status, error code, connection lost): the outcome is unknown. */
  failed?: string;
}

/**
 * A loss signal as a subscriber received it, already in the shape of the offsets it covers. The wire `lost` frame and
 * a resubscribe answered `recovered: false` (SDK `recovery-failed`) both map onto it (see `lossFromLostFrame`,
 * `lossFromRecoveryFailed`).
 */
export interface LossRange {
  epoch: string;
  /** First offset covered. */
  from: number;
  /** Last offset covered (inclusive); Infinity: every offset from `from` on. */
  to: number;
  /** What the subscriber received, for failure messages. */
  signal: string;
}

/** `lost {epoch, from, to}`: offsets from..to of epoch; `to: null` every offset from `from` on. */
export function lossFromLostFrame(frame: { epoch: string; from: number; to: number | null }): LossRange[] {
  return [{ epoch: frame.epoch, from: frame.from, to: frame.to ?? Infinity, signal: `lost ${frame.epoch}:${frame.from}..${frame.to ?? '∞'}` }];
}

/**
 * A resubscribe from `from` answered `recovered: false` at `position`: in the same epoch the offsets after `from` up to
 * `position`; across epochs everything after `from` in the old one and everything up to `position` in the new one.
 */
export function lossFromRecoveryFailed(from: Position, position: Position): LossRange[] {
  const signal = `recovered:false from ${from.epoch}:${from.offset} at ${position.epoch}:${position.offset}`;
  if (from.epoch === position.epoch) return [{ epoch: from.epoch, from: from.offset + 1, to: position.offset, signal }];
  return [
    { epoch: from.epoch, from: from.offset + 1, to: Infinity, signal },
    { epoch: position.epoch, from: 1, to: position.offset, signal },
  ];
}

interface Delivery {
  id: string;
  offset: number;
  epoch: string;
  replayed: boolean;
}

/** What one subscriber saw in one channel. */
export class ChannelRecord {
  /** The first `subscribed` reply: the subscriber is owed everything after it, until the end of the run. */
  start?: { position: Position; tick: number };
  readonly deliveries: Delivery[] = [];
  readonly losses: LossRange[] = [];
  constructor(readonly subscriber: string, readonly channel: string) {}
}

export interface Counts {
  /** Publications in the stream: accepted (position answered) plus observed ones whose answer never came. */
  publications: number;
  accepted: number;
  /** Sent, no position answered, never seen by anyone (an outage refused it, or it is lost without trace). */
  unanswered: number;
  deliveries: number;
  /** Deliveries that came as a recovery replay (subscribed.publications). */
  recovered: number;
  /** Owed publications not delivered and covered by a loss signal. */
  explicitlyLost: number;
  silentGaps: number;
  duplicates: number;
  inversions: number;
  /** Inconsistencies of the stream itself: two publications on one offset, a delivery at another position than answered. */
  conflicts: number;
}

export type ProblemKind = 'silent gap' | 'duplicate' | 'inversion' | 'conflict';

/** One broken promise, in words that name the subscriber, channel, position and publication. */
export interface Problem {
  kind: ProblemKind;
  text: string;
}

export interface SubscriberReport {
  label: string;
  counts: Omit<Counts, 'publications' | 'accepted' | 'unanswered'> & { owed: number };
  /** The first few of each kind. */
  problems: Problem[];
}

export interface LedgerReport {
  counts: Counts;
  subscribers: SubscriberReport[];
  /** The first few problems of each kind per subscriber, and of the stream; empty when the guarantee held. */
  problems: Problem[];
}

interface KnownPublication {
  id: string;
  channel: string;
  via: string;
  sentAt: number;
  position: Position;
  answered: boolean;
}

const key = (channel: string, epoch: string, offset: number) => `${channel}\u0000${epoch}\u0000${offset}`;
const at = (position: { epoch: string; offset: number }) => `${position.epoch}:${position.offset}`;

export class Ledger {
  #clock = 0;
  readonly attempts = new Map<string, PublishAttempt>();
  readonly records: ChannelRecord[] = [];
  #listeners = new Set<() => void>();
  readonly #observed: Array<{ id: string; channel: string; position: Position }> = [];

  /** The next tick of the logical clock. */
  tick(): number {
    return ++this.#clock;
  }

  /** Records a publish request about to be sent. */
  attempt(id: string, channel: string, via: string): PublishAttempt {
    const attempt: PublishAttempt = { id, channel, via, sentAt: this.tick() };
    this.attempts.set(id, attempt);
    return attempt;
  }

  accept(attempt: PublishAttempt, position: Position): void {
    attempt.accepted = { offset: position.offset, epoch: position.epoch };
    this.#changed();
  }

  fail(attempt: PublishAttempt, reason: string): void {
    attempt.failed = reason;
    this.#changed();
  }

  record(subscriber: string, channel: string): ChannelRecord {
    const record = new ChannelRecord(subscriber, channel);
    this.records.push(record);
    return record;
  }

  subscribed(record: ChannelRecord, position: Position): void {
    record.start ??= { position: { offset: position.offset, epoch: position.epoch }, tick: this.tick() };
  }

  deliver(record: ChannelRecord, id: string, position: Position, replayed: boolean): void {
    record.deliveries.push({ id, offset: position.offset, epoch: position.epoch, replayed });
    this.#changed();
  }

  /** A publication found in a channel's history whose publish answer never came back. */
  observe(id: string, channel: string, position: Position): void {
    this.#observed.push({ id, channel, position: { offset: position.offset, epoch: position.epoch } });
  }

  lose(record: ChannelRecord, ranges: LossRange[]): void {
    record.losses.push(...ranges);
    this.#changed();
  }

  /** Everything recorded, for a post-mortem file when the verdict is bad. */
  toJSON(): object {
    return {
      attempts: [...this.attempts.values()],
      observed: this.#observed,
      records: this.records.map((record) => ({ ...record, losses: record.losses.map((range) => ({ ...range, to: range.to === Infinity ? null : range.to })) })),
    };
  }

  acceptedCount(): number {
    let count = 0;
    for (const attempt of this.attempts.values()) if (attempt.accepted) count++;
    return count;
  }

  /** Resolves once `condition` holds, re-evaluated on every ledger change (no polling). */
  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = () => {
        if (!condition()) return;
        this.#listeners.delete(listener);
        resolve();
      };
      this.#listeners.add(listener);
    });
  }

  /** `Date.now()` of the last publication outcome, delivery or loss signal recorded. */
  lastChangeAt = Date.now();

  #changed(): void {
    this.lastChangeAt = Date.now();
    for (const listener of [...this.#listeners]) listener();
  }

  /**
   * The guarantee, per subscriber and channel. A subscriber is owed every publication of the channel that comes after
   * its first `subscribed` reply at `(offset, epoch)`: in that epoch the offsets above `offset`; in any other epoch
   * (the stream reset) the publications whose request was sent after the reply arrived. Each owed publication
   * must be delivered exactly once, in increasing offset order within its epoch, or covered by a loss signal.
   * Deliveries at or below the subscribe position are not owed and not judged.
   */
  check(): LedgerReport {
    const problems: Problem[] = [];
    const known = new Map<string, KnownPublication>();
    const byPosition = new Map<string, KnownPublication>();
    let conflicts = 0;
    const conflict = (message: string) => {
      conflicts++;
      if (conflicts <= 10) problems.push({ kind: 'conflict', text: message });
    };
    const place = (publication: KnownPublication) => {
      const slot = key(publication.channel, publication.position.epoch, publication.position.offset);
      const other = byPosition.get(slot);
      if (other && other.id !== publication.id) conflict(`two publications at ${publication.channel} ${at(publication.position)}: ${other.id} (${other.via}) and ${publication.id} (${publication.via})`);
      else byPosition.set(slot, publication);
      known.set(publication.id, publication);
    };
    for (const attempt of this.attempts.values()) {
      if (attempt.accepted) place({ id: attempt.id, channel: attempt.channel, via: attempt.via, sentAt: attempt.sentAt, position: attempt.accepted, answered: true });
    }
    // A publication whose answer was lost (its node died, the request timed out) still exists if anybody received it
    // or history holds it.
    for (const found of this.#observed) {
      const attempt = this.attempts.get(found.id);
      if (attempt && !known.has(found.id)) place({ id: attempt.id, channel: attempt.channel, via: attempt.via, sentAt: attempt.sentAt, position: found.position, answered: false });
    }
    for (const record of this.records) {
      for (const delivery of record.deliveries) {
        const attempt = this.attempts.get(delivery.id);
        if (!attempt) {
          conflict(`${record.subscriber} received ${delivery.id} at ${record.channel} ${at(delivery)}, which nobody published`);
          continue;
        }
        const seen = known.get(delivery.id);
        if (!seen) place({ id: attempt.id, channel: attempt.channel, via: attempt.via, sentAt: attempt.sentAt, position: { offset: delivery.offset, epoch: delivery.epoch }, answered: false });
        else if (seen.position.offset !== delivery.offset || seen.position.epoch !== delivery.epoch || attempt.channel !== record.channel)
          conflict(`${record.subscriber} received ${delivery.id} at ${record.channel} ${at(delivery)}; it was published to ${attempt.channel} at ${at(seen.position)}`);
      }
    }

    const subscribers: SubscriberReport[] = [];
    const bySubscriber = new Map<string, ChannelRecord[]>();
    for (const record of this.records) bySubscriber.set(record.subscriber, [...(bySubscriber.get(record.subscriber) ?? []), record]);
    for (const [label, records] of bySubscriber) {
      const report: SubscriberReport = {
        label,
        counts: { owed: 0, deliveries: 0, recovered: 0, explicitlyLost: 0, silentGaps: 0, duplicates: 0, inversions: 0, conflicts: 0 },
        problems: [],
      };
      const note = (kind: ProblemKind, count: number, message: string) => {
        if (count <= 3) report.problems.push({ kind, text: `${label}: ${message}` });
      };
      for (const record of records) this.#checkRecord(record, known, report, note);
      subscribers.push(report);
      problems.push(...report.problems);
    }

    const publications = known.size;
    const accepted = [...known.values()].filter((publication) => publication.answered).length;
    const sum = (field: keyof SubscriberReport['counts']) => subscribers.reduce((total, report) => total + report.counts[field], 0);
    return {
      counts: {
        publications,
        accepted,
        unanswered: this.attempts.size - publications,
        deliveries: sum('deliveries'),
        recovered: sum('recovered'),
        explicitlyLost: sum('explicitlyLost'),
        silentGaps: sum('silentGaps'),
        duplicates: sum('duplicates'),
        inversions: sum('inversions'),
        conflicts: conflicts + sum('conflicts'),
      },
      subscribers,
      problems,
    };
  }

  #checkRecord(record: ChannelRecord, known: Map<string, KnownPublication>, report: SubscriberReport, note: (kind: ProblemKind, count: number, message: string) => void): void {
    const counts = report.counts;
    const start = record.start;
    if (!start) {
      if (record.deliveries.length > 0) note('conflict', ++counts.conflicts, `${record.channel} received ${record.deliveries.length} publications but never a subscribed reply`);
      return;
    }
    const owed = (position: Position, sentAt: number) =>
      position.epoch === start.position.epoch ? position.offset > start.position.offset : sentAt > start.tick;

    const delivered = new Set<string>();
    const highest = new Map<string, number>();
    for (const delivery of record.deliveries) {
      const publication = known.get(delivery.id);
      if (!publication || !owed(delivery, publication.sentAt)) continue;
      counts.deliveries++;
      if (delivery.replayed) counts.recovered++;
      const slot = `${delivery.epoch}:${delivery.offset}`;
      const top = highest.get(delivery.epoch) ?? -Infinity;
      if (delivered.has(slot)) {
        note('duplicate', ++counts.duplicates, `${record.channel} ${slot} (${delivery.id}) delivered again`);
        continue;
      }
      delivered.add(slot);
      if (delivery.offset < top) note('inversion', ++counts.inversions, `${record.channel} ${slot} (${delivery.id}) arrived after ${delivery.epoch}:${top}`);
      else highest.set(delivery.epoch, delivery.offset);
    }

    const owedHere = [...known.values()]
      .filter((publication) => publication.channel === record.channel && owed(publication.position, publication.sentAt))
      .sort((a, b) => (a.position.epoch === b.position.epoch ? a.position.offset - b.position.offset : a.sentAt - b.sentAt));
    for (const publication of owedHere) {
      counts.owed++;
      if (delivered.has(`${publication.position.epoch}:${publication.position.offset}`)) continue;
      const { epoch, offset } = publication.position;
      if (record.losses.some((range) => range.epoch === epoch && range.from <= offset && offset <= range.to)) {
        counts.explicitlyLost++;
        continue;
      }
      const signals = record.losses.map((range) => range.signal);
      note('silent gap', ++counts.silentGaps,
        `${record.channel} ${at(publication.position)} (${publication.id} via ${publication.via}) never delivered, no loss signal covers it` +
        ` (subscribed at ${at(start.position)}; signals: ${signals.length ? [...new Set(signals)].join('; ') : 'none'})`);
    }
  }
}

/** The first problem of each kind, then every subscriber that had one with its counts: a failure message. */
export function describeProblems(report: LedgerReport): string {
  const lines: string[] = [];
  for (const kind of ['silent gap', 'inversion', 'duplicate', 'conflict'] as const) {
    const first = report.problems.find((problem) => problem.kind === kind);
    if (first) lines.push(`first ${kind}: ${first.text}`);
  }
  for (const subscriber of report.subscribers) {
    if (subscriber.problems.length === 0) continue;
    const { owed, deliveries, recovered, explicitlyLost, silentGaps, duplicates, inversions, conflicts } = subscriber.counts;
    lines.push(`  ${subscriber.label}: owed=${owed} delivered=${deliveries} recovered=${recovered} explicitly-lost=${explicitlyLost} silent-gaps=${silentGaps} duplicates=${duplicates} inversions=${inversions} conflicts=${conflicts}`);
  }
  return lines.join('\n');
}

/** One line of counts, for the test output. */
export function formatCounts(engine: string, counts: Counts): string {
  return (
    `ledger [${engine}] publications=${counts.publications} (accepted=${counts.accepted}, unanswered=${counts.unanswered})` +
    ` deliveries=${counts.deliveries} recovered=${counts.recovered} explicitly-lost=${counts.explicitlyLost}` +
    ` silent-gaps=${counts.silentGaps} duplicates=${counts.duplicates} inversions=${counts.inversions} conflicts=${counts.conflicts}`
  );
}
