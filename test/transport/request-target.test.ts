import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WsgateError } from '../../src/protocol/errors.js';
import { parseRequestTarget } from '../../src/server/transport/request-target.js';
import { offeredProtocol } from '../../src/server/transport/handshake.js';

/** What the full URL parse reads of a target: the reference the quick path must match. */
function byUrl(target: string): { pathname: string; query: string[][] } {
  const url = new URL(target, 'http://gateway');
  return { pathname: url.pathname, query: [...url.searchParams] };
}

describe('Request target', () => {
  it('reads path and query exactly as the URL parser does, plain or not', () => {
    const targets = [
      '/ws', '/ws?ticket=abc_DEF-123', '/ws?ticket=a%2Bb&x=1&x=2', '/ws?a=b+c&d', '/ws?', '/ws/?q=/x?y',
      '/a//b?t=1', '/', '/app/key-1?protocol=7&client=js&version=8.4.0',
      // Not plain: dot segments, escapes in the path, a fragment, characters the parser encodes.
      '/./ws?ticket=x', '/x/../ws', '/w%73?ticket=x', '/ws?ticket=x#frag', "/ws?a='b'", '/ws?a=<b>', '/ws?a=%zz', '/ws?a=é',
    ];
    for (const target of targets) {
      const parsed = parseRequestTarget(target);
      assert.deepEqual({ pathname: parsed.pathname, query: [...parsed.searchParams] }, byUrl(target), target);
    }
  });

  it('refuses a target that is not a URL without quoting it', () => {
    for (const target of ['//[bad/ws?ticket=secret', 'http://[::1']) {
      assert.throws(() => parseRequestTarget(target), (error: unknown) => {
        assert.ok(error instanceof WsgateError);
        assert.equal(error.code, 'REQUEST_INVALID');
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
    }
  });

  it('Sec-WebSocket-Protocol: one known name as it is, lists, blanks and unknown names', () => {
    assert.equal(offeredProtocol(undefined), 'wsgate.v1.json');
    assert.equal(offeredProtocol('wsgate.v1.json'), 'wsgate.v1.json');
    assert.equal(offeredProtocol(' '), 'wsgate.v1.json');
    assert.equal(offeredProtocol('chat, wsgate.v1.json'), 'wsgate.v1.json');
    assert.equal(offeredProtocol('chat'), null);
    assert.throws(() => offeredProtocol('wsgate.v1.json, wsgate.v1.json'), /distinct/);
  });
});
