import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCatalogue } from '../../src/protocol/errors.js';
import { CloseCode, shouldReconnect } from '../../src/protocol/close-codes.js';

const errorsDoc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const protocolDoc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

test('docs/errors.md lists every error code with its status and close code, and nothing else', () => {
  const rows = new Map<string, string[]>();
  for (const line of errorsDoc.split('\n')) {
    const match = /^\| `([A-Z_]+)` \| (\d+) \| ([^|]+) \|/.exec(line);
    if (match) rows.set(match[1]!, [match[2]!, match[3]!.trim()]);
  }
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ErrorCatalogue).sort());
  for (const [code, spec] of Object.entries(ErrorCatalogue)) {
    const [status, close] = rows.get(code)!;
    assert.equal(Number(status), spec.status, `${code} status`);
    const expectedClose = 'close' in spec ? String(spec.close) : null;
    if (expectedClose) assert.ok(close!.includes(expectedClose), `${code} close code ${expectedClose}`);
    else assert.equal(close, '—', `${code} has no close code`);
  }
});

test('docs/protocol.md lists every close code with its name and reconnect rule', () => {
  for (const [name, code] of Object.entries(CloseCode)) {
    const row = new RegExp(`^\\| ${code} \\| ${name} \\| (yes|no) \\|`, 'm').exec(protocolDoc);
    assert.ok(row, `close code ${code} ${name} is documented`);
    assert.equal(row[1] === 'yes', shouldReconnect(code), `${name}: documented reconnect rule matches shouldReconnect`);
  }
});
