import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Emitter } from '../../src/client/emitter.js';

type Events = { tick: [n: number]; done: [] };

describe('Emitter', () => {
  it('calls listeners in order, removes them, and supports once', () => {
    const emitter = new Emitter<Events>();
    const seen: string[] = [];
    const off = emitter.on('tick', (n) => seen.push(`a${n}`));
    emitter.once('tick', (n) => seen.push(`b${n}`));
    emitter.emit('tick', 1);
    emitter.emit('tick', 2);
    off();
    emitter.emit('tick', 3);
    assert.deepEqual(seen, ['a1', 'b1', 'a2']);
    assert.equal(emitter.listenerCount('tick'), 0);
  });

  it('keeps calling the other listeners when one throws, and reports the exception', () => {
    const reported: unknown[] = [];
    const emitter = new Emitter<Events>((error) => reported.push(error));
    let called = false;
    emitter.on('done', () => {
      throw new Error('listener bug');
    });
    emitter.on('done', () => (called = true));
    emitter.emit('done');
    assert.equal(called, true);
    assert.equal((reported[0] as Error).message, 'listener bug');
  });
});
