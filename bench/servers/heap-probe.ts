/**
 * Preloaded (`--import`) into every server under test, wsgate included, so each reports its heap the same way without
 * any benchmark code in the product: on `{cmd: 'heap'}` over the IPC channel it collects garbage (needs --expose-gc)
 * and answers with process.memoryUsage(). RSS is also read from /proc by the orchestrator.
 */
const collect = (globalThis as { gc?: () => void }).gc;

process.on('message', (message: { cmd?: string }) => {
  if (message?.cmd !== 'heap') return;
  // Twice: the first pass can leave objects with finalizers or weak references for the second.
  collect?.();
  collect?.();
  process.send?.({ ev: 'heap', ...process.memoryUsage(), collected: collect !== undefined });
});

// The orchestrator died: a server nobody will stop must not outlive it.
process.on('disconnect', () => process.exit(0));
