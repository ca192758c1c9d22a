import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

const openapi = parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
const guide = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

let running: RunningGateway;
before(async () => {
  running = await startGateway();
});
after(() => running.stop());

test('docs/openapi.yaml and docs/api.md describe routes the API has, each with a curl example', () => {
  const documented: string[] = [];
  for (const [path, operations] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(operations)) {
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      assert.ok(running.gateway.http.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path} exists`);
      documented.push(`${method.toUpperCase()} ${path}`);
      const heading = guide.split('\n').some((line) => line.startsWith('### ') && line.includes(`\`${method.toUpperCase()} ${path}`));
      assert.ok(heading, `${method} ${path} has a section in api.md`);
    }
  }
  assert.equal(documented.length, 21, "every server API route");
  const sections = guide.split('\n### ').slice(1);
  for (const section of sections) assert.match(section, /curl -sS/, `section ${section.split('\n')[0]} has a curl example`);
});
