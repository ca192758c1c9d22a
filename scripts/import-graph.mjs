#!/usr/bin/env node
// Prints the folder-level import graph of src/ (one line per folder: what it imports) and the cycles between folders.
// `--check` exits 1 when a cycle exists among the folders named by `--layers a,b,c` (all folders when omitted), so the
// layering can be enforced by npm test once it holds. `--order a,b,c` names layers from the top down: an import from a
// folder to one listed before it is reported as upward, and fails `--check` too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const args = process.argv.slice(2);
const check = args.includes('--check');
const layersArg = args[args.indexOf('--layers') + 1];
const layers = args.includes('--layers') && layersArg ? new Set(layersArg.split(',')) : null;
const orderArg = args[args.indexOf('--order') + 1];
const order = args.includes('--order') && orderArg ? orderArg.split(',') : [];

/** `src/server/hub/hub.ts` → `server/hub`; files directly in a package folder belong to it (`server`). */
function folderOf(file) {
  const parts = relative(src, file).split(sep);
  return parts.length <= 2 ? parts[0] : `${parts[0]}/${parts[1]}`;
}

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

// Static imports, re-exports and dynamic imports of relative modules; type-only imports count too, since they tie layers.
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

const edges = new Map();
for (const file of sources(src)) {
  const from = folderOf(file);
  if (!edges.has(from)) edges.set(from, new Map());
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), match[1] ?? match[2]).replace(/\.js$/, '.ts');
    const to = folderOf(target);
    if (to === from) continue;
    const files = edges.get(from);
    if (!files.has(to)) files.set(to, []);
    files.get(to).push(`${relative(src, file)} → ${relative(src, target)}`);
  }
}

for (const [from, targets] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${from} → ${[...targets.keys()].sort().join(', ') || '(nothing)'}`);
}

// Tarjan's strongly connected components over the folders in scope: any component with more than one folder is a cycle.
const inScope = (folder) => !layers || layers.has(folder);
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
let counter = 0;
function visit(node) {
  index.set(node, counter);
  low.set(node, counter++);
  stack.push(node);
  onStack.add(node);
  for (const next of edges.get(node)?.keys() ?? []) {
    if (!inScope(next)) continue;
    if (!index.has(next)) {
      visit(next);
      low.set(node, Math.min(low.get(node), low.get(next)));
    } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
  }
  if (low.get(node) === index.get(node)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const folder of edges.keys()) if (inScope(folder) && !index.has(folder)) visit(folder);

if (cycles.length === 0) {
  console.log('\nno cycles between folders');
} else {
  console.log(`\n${cycles.length} cycle(s) between folders:`);
  for (const cycle of cycles) {
    console.log(`- ${cycle.join(' ⇄ ')}`);
    for (const from of cycle) {
      for (const to of cycle) {
        for (const line of edges.get(from)?.get(to) ?? []) console.log(`    ${line}`);
      }
    }
  }
}

// Upward imports: from a folder to one the order puts above it.
const upward = [];
for (const [from, targets] of edges) {
  const level = order.indexOf(from);
  if (level === -1) continue;
  for (const [to, lines] of targets) {
    const target = order.indexOf(to);
    if (target !== -1 && target < level) upward.push(...lines);
  }
}
if (order.length > 0) {
  if (upward.length === 0) console.log(`no upward imports in ${order.join(' → ')}`);
  else {
    console.log(`\n${upward.length} upward import(s) in ${order.join(' → ')}:`);
    for (const line of upward) console.log(`    ${line}`);
  }
}
if (check && (cycles.length > 0 || upward.length > 0)) process.exit(1);
