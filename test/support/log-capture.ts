import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/server/observability/logger.js';

/** A logger at `level` whose JSON lines a test reads back: parsed, and as the raw text written. */
export function captureLogs(level: Parameters<typeof createLogger>[0] = 'info'): { logger: Logger; lines: Array<Record<string, any>>; output: () => string } {
  const lines: Array<Record<string, any>> = [];
  let output = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger(level, sink), lines, output: () => output };
}
