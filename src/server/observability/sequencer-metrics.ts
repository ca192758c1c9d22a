import { Counter, Gauge, type Registry } from 'prom-client';

/** The totals a node's channel sequencers keep (`SequencerStats` in node/). */
export interface OrderingCounters {
  readonly inOrder: number;
  readonly reordered: number;
  readonly filled: number;
  readonly duplicates: number;
  readonly stale: number;
  readonly lostOffsets: number;
  readonly lostNotices: number;
  readonly buffered: number;
}

/**
 * Exposes how the node kept its channels in order (totals over every channel), read at scrape time:
 * what was delivered at once, after waiting, or from history; what was dropped as a duplicate or stale; what was lost.
 */
export function registerSequencerMetrics(registry: Registry, stats: OrderingCounters): void {
  const publications: Counter<'outcome'> = new Counter({
    name: 'wsgate_ordering_publications_total',
    help: 'Channel publications by what the node\'s sequencer did with them',
    labelNames: ['outcome'],
    registers: [registry],
    collect: () => {
      publications.reset();
      publications.inc({ outcome: 'in_order' }, stats.inOrder);
      publications.inc({ outcome: 'reordered' }, stats.reordered);
      publications.inc({ outcome: 'filled' }, stats.filled);
      publications.inc({ outcome: 'duplicate' }, stats.duplicates);
      publications.inc({ outcome: 'stale' }, stats.stale);
    },
  });
  const lost: Counter<'unit'> = new Counter({
    name: 'wsgate_ordering_lost_total',
    help: 'Lost announcements and the offsets they cover (an open-ended one counts its first offset)',
    labelNames: ['unit'],
    registers: [registry],
    collect: () => {
      lost.reset();
      lost.inc({ unit: 'announcements' }, stats.lostNotices);
      lost.inc({ unit: 'offsets' }, stats.lostOffsets);
    },
  });
  const buffered: Gauge = new Gauge({
    name: 'wsgate_ordering_buffered',
    help: 'Publications held ahead of a gap, over every channel',
    registers: [registry],
    collect: () => buffered.set(stats.buffered),
  });
}
