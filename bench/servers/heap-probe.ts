/**
 * Preloaded (`--import`) into every server under test, wsgate included, so each reports its heap the same way without
 * any benchmark code in the product: on `{cmd: 'heap'}` over the IPC channel it collects garbage (needs --expose-gc)
 * and answers with process.memoryUsage() twice: `asLeft` after ordinary full collections, and `reduced` after V8's
 * memory-reducing one (`flavor: 'last-resort'`, what a memory-pressure notification runs). RSS is also read from
 * /proc by the orchestrator.
 *
 * Why both: V8 sizes the young generation by how much survived recent scavenges, up to 2 × 64 MB on Node 24 (2 × 16 MB
 * on Node 20), and ordinary collections leave it at that size. A burst of connects therefore leaves tens of MB resident
 * that depend on the V8 version and on how fast the connects came, not on how many connections are open; the reducing
 * collection shrinks it to 1 MB and compacts the old generation, leaving what the live objects need.
 */
import { getHeapSpaceStatistics } from 'node:v8';

type Collect = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;
const collect = (globalThis as { gc?: Collect }).gc;

export interface HeapReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Committed bytes of the young generation (new space). */
  youngGeneration: number;
}

function read(): HeapReading {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return { rss, heapUsed, heapTotal, external, arrayBuffers, youngGeneration: young?.physical_space_size ?? 0 };
}

process.on('message', (message: { cmd?: string }) => {
  if (message?.cmd !== 'heap') return;
  // Twice: the first pass can leave objects with finalizers or weak references for the second.
  collect?.();
  collect?.();
  const asLeft = read();
  // Node 20's V8 takes no options and runs an ordinary full collection instead.
  collect?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const reduced = read();
  process.send?.({ ev: 'heap', ...asLeft, asLeft, reduced, collected: collect !== undefined });
});

// The orchestrator died: a server nobody will stop must not outlive it.
process.on('disconnect', () => process.exit(0));
