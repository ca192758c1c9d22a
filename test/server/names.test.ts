import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTION_TYPE_MATCH_PATTERN, ACTION_TYPE_PATTERN, isValidUserId, matchesWildcard, MAX_ACTION_TYPE_LENGTH, MAX_CHANNEL_LENGTH, parseChannel,
} from '../../src/protocol/names.js';
import { compileIdentityPattern } from '../../src/server/auth/identity-pattern.js';
import type { Identity } from '../../src/server/auth/identity.js';
import { TypePatterns } from '../../src/server/rpc/type-patterns.js';

test('one channel length: the longest valid namespace and name, and nothing longer', () => {
  const longest = `${'n'.repeat(64)}:${'x'.repeat(200)}`;
  assert.equal(longest.length, MAX_CHANNEL_LENGTH);
  assert.deepEqual(parseChannel(longest), { namespace: 'n'.repeat(64), name: 'x'.repeat(200) });
  assert.equal(parseChannel(`${longest}x`), null);
  assert.equal(isValidUserId('u'.repeat(128)), true);
  assert.equal(isValidUserId('u'.repeat(129)), false);
  assert.equal(ACTION_TYPE_PATTERN.test('t'.repeat(MAX_ACTION_TYPE_LENGTH)), true);
  assert.equal(ACTION_TYPE_PATTERN.test('t'.repeat(MAX_ACTION_TYPE_LENGTH + 1)), false);
  assert.equal(ACTION_TYPE_MATCH_PATTERN.test('order.*'), true);
  assert.equal(ACTION_TYPE_PATTERN.test('order.*'), false);
});

test('one wildcard: `*` is any characters, everything else literal', () => {
  const cases: Array<[string, string, boolean]> = [
    ['org:acme/*', 'org:acme/view:1', true],
    ['org:acme/*', 'org:acme/', true],
    ['org:acme/*', 'org:acme', false],
    ['*', '', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'acb', false],
    ['ab*ba', 'aba', false],
    ['order.*', 'orderXcreate', false],
    ['chat:(x)+', 'chat:(x)+', true],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ];
  for (const [pattern, value, expected] of cases) assert.equal(matchesWildcard(pattern, value), expected, `${pattern} ~ ${value}`);
  const routes = new TypePatterns([{ match: 'order.*' }, { match: '*' }]);
  assert.equal(routes.lookup('order.create')?.match, 'order.*');
  assert.equal(routes.lookup('orderXcreate')?.match, '*', 'a dot in a pattern is a dot');
  const identity: Identity = { user: 'ann', claims: { org: 'acme', teams: ['red', 'blue'], bad: 'x*' }, method: 'jwt' };
  assert.equal(compileIdentityPattern('org:{claims.org}/*').matches('org:acme/view:1', identity), true);
  assert.equal(compileIdentityPattern('team:{claims.teams}').matches('team:blue', identity), true);
  assert.equal(compileIdentityPattern('team:{claims.bad}').matches('team:xyz', identity), false, 'a value with * never widens the match');
  assert.equal(compileIdentityPattern('team:{claims.missing}').matches('team:', identity), false);
});
