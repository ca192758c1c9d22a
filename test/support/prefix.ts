import { randomBytes } from 'node:crypto';

let counter = 0;

/** A key prefix no other test (in this or another process) uses, so tests can share one Redis or NATS. */
export function uniquePrefix(label = 't'): string {
  return `wsgate-test:${label}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
}
