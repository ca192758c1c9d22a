import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBase64url, randomHex } from '../../src/server/random/random-token.js';

describe('Random tokens', () => {
  it('have the asked length and never repeat across pool refills', () => {
    const seen = new Set<string>();
    // 2,000 x 32 bytes: the 4 KiB pool is refilled several times, and a draw that does not fit starts a fresh pool.
    for (let i = 0; i < 2000; i++) {
      const token = randomBase64url(i % 7 === 0 ? 12 : 32);
      assert.match(token, i % 7 === 0 ? /^[\w-]{16}$/ : /^[\w-]{43}$/);
      assert.ok(!seen.has(token));
      seen.add(token);
    }
    assert.match(randomHex(8), /^[0-9a-f]{16}$/);
  });

  it('refuses more than one pool at a time', () => {
    assert.throws(() => randomBase64url(4097), RangeError);
  });
});
