import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './processes.js';

/**
 * Builds another commit of wsgate (`--baseline <rev>`, e.g. the last build before a change) into a directory of its
 * own under the temp dir, so one bench run can compare it with the working tree as a second target. The commit's
 * files come from `git archive`; `node_modules` is this checkout's (a baseline with other dependencies is not
 * comparable this way). Built once per commit and reused. Returns the path of its CLI.
 */
export function buildBaseline(rev: string, log: (line: string) => void): string {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const dir = join(tmpdir(), `wsgate-baseline-${sha.slice(0, 12)}`);
  const cli = join(dir, 'dist/cli/main.js');
  if (existsSync(cli)) return cli;
  log(`building baseline ${rev} (${sha.slice(0, 12)}) in ${dir}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive --format=tar ${sha} | tar -x -C "${dir}"`], { cwd: repoRoot, stdio: 'inherit' });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-client.mjs'], { cwd: dir, stdio: 'inherit' });
  return cli;
}
