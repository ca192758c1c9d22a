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

/** `METHOD /path` of every route fastify prints in its tree (HEAD, which GET brings along, left out). */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*?)(\/\S*)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = Math.max(0, depth - 1);
    stack.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.push(`${method} ${stack.join('')}`);
  }
  return routes;
}

test('docs/openapi.yaml describes exactly the server API routes, and docs/api.md has a section with a curl example for each', () => {
  const documented: string[] = [];
  for (const [path, operations] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(operations)) {
      documented.push(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
      const heading = guide.split('\n').some((line) => line.startsWith('### ') && line.includes(`\`${method.toUpperCase()} ${path}`));
      assert.ok(heading, `${method} ${path} has a section in api.md`);
    }
  }
  const api = registeredRoutes(running.gateway.http.printRoutes({ commonPrefix: false })).filter((route) => route.split(' ')[1]!.startsWith('/api/'));
  assert.ok(api.length > 20, `found the routes: ${JSON.stringify(api)}`);
  assert.deepEqual(documented.sort(), api.sort(), 'openapi.yaml paths = the routes under /api');
  const sections = guide.split('\n### ').slice(1);
  for (const section of sections) assert.match(section, /curl -sS/, `section ${section.split('\n')[0]} has a curl example`);
});
