import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoRoot } from '../processes.js';
import { singleServerTarget, type ServerRuntime } from './single-server.js';

/** The npm package the uWebSockets.js binaries come from (a devDependency, pinned in package-lock.json). */
export const UWS_PACKAGE = 'uwebsockets';

/** Why `nodePath` cannot load the addon (its last `Error:` line), or undefined when `App()` works there. */
function loadProblem(nodePath: string): string | undefined {
  const probe = spawnSync(nodePath, ['-e', `require(${JSON.stringify(UWS_PACKAGE)}).App()`], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000 });
  if (probe.error) return probe.error.message;
  if (probe.status === 0) return undefined;
  const errors = probe.stderr.split('\n').filter((line) => line.startsWith('Error: '));
  return (errors.at(-1) ?? probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`).replace(/^Error: /, '');
}

function nodeVersion(nodePath: string): string {
  return spawnSync(nodePath, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/**
 * The addon is one build per Node ABI and needs the glibc it was built against, so it may not load on the bench's
 * Node (the registry's builds for Node 22+ need glibc 2.38, Debian 12 has 2.36). Then the server runs on the first
 * Node that loads it: `WSGATE_BENCH_UWS_NODE`, else any other `node` on PATH. The C++ side does the fan-out, so the
 * Node it is hosted by hardly matters; the report says which one it was.
 */
function findRuntime(): ServerRuntime {
  const own = loadProblem(process.execPath);
  if (own === undefined) return { nodePath: process.execPath };
  const seen = new Set([realpathSync(process.execPath)]);
  const candidates = [process.env.WSGATE_BENCH_UWS_NODE, ...(process.env.PATH ?? '').split(delimiter).map((dir) => dir && join(dir, 'node'))];
  for (const candidate of candidates) {
    if (!candidate) continue;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    seen.add(real);
    if (loadProblem(real) === undefined) {
      return { nodePath: real, note: `served by Node ${nodeVersion(real)} (${real}); on the bench's Node ${process.version}: ${own}` };
    }
  }
  return { unavailable: `${UWS_PACKAGE} does not load on Node ${process.version} (${own}) nor on another node on PATH; set WSGATE_BENCH_UWS_NODE` };
}

let runtime: ServerRuntime | undefined;

/** uWebSockets.js topic pub/sub broadcast (bench/servers/uws-broadcast-server.ts): the fastest server a Node user can pick. */
export const uwsTarget = singleServerTarget('uws', 'ws', 'uws-broadcast-server.ts', 'ws', () => (runtime ??= findRuntime()));
