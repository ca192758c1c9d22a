import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginPolicy } from '../../src/server/auth/origin-policy.js';

describe('Origin policy', () => {
  it('with no list allows the gateway\'s own origin on localhost only', () => {
    const policy = new OriginPolicy([], 8080);
    assert.equal(policy.allows('http://localhost:8080'), true);
    assert.equal(policy.allows('http://127.0.0.1:8080'), true);
    assert.equal(policy.allows('http://localhost:3000'), false);
    assert.equal(policy.allows(undefined), true, 'no Origin: not a browser');
  });

  it('`host:*` allows that scheme and host on any port, and nothing else', () => {
    const policy = new OriginPolicy(['http://localhost:*', 'https://app.example.com'], 8080);
    assert.equal(policy.allows('http://localhost:3000'), true);
    assert.equal(policy.allows('http://LOCALHOST:5173/'), true);
    assert.equal(policy.allows('https://app.example.com'), true);
    assert.equal(policy.allows('https://localhost:3000'), false, 'another scheme');
    assert.equal(policy.allows('http://localhost.evil.example:3000'), false, 'another host');
    assert.equal(policy.allows('http://localhost:3000.evil.example'), false, 'not a port');
    assert.equal(policy.allows('http://localhost'), false, 'no port');
  });
});
