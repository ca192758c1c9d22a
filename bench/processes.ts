import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every child the bench starts, so Ctrl-C or a crash never leaves servers or load workers behind. */
const children = new Set<ChildProcess>();

/** Server logs go here (not to the terminal): logging to a TTY would cost the server CPU we are measuring. */
export const logDir = mkdtempSync(join(tmpdir(), 'wsgate-bench-'));

/** Root of the repository: children run with it as cwd so `--import tsx` and `dist/` resolve. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Fork a TypeScript module of the bench with an IPC channel. */
export function forkTs(modulePath: string, args: string[] = [], execArgv: string[] = []): ChildProcess {
  return track(
    fork(modulePath, args, {
      cwd: repoRoot,
      execArgv: [...execArgv, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
}

/**
 * Spawn a server program with an IPC channel and its output in a log file under `logDir`; it runs on the bench's own
 * Node unless `nodePath` names another (a peer whose native addon has no build for this one).
 */
export function spawnServer(name: string, args: string[], env: NodeJS.ProcessEnv = {}, nodePath = process.execPath): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = track(
    spawn(nodePath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Spawn a non-Node helper (redis-server) with its output in a log file. */
export function spawnProgram(name: string, command: string, args: string[]): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const child = track(spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Resolve with the first IPC message that `accept` returns a value for; reject on exit or timeout. */
export function nextMessage<T>(
  child: ChildProcess,
  accept: (message: unknown) => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      const value = accept(message);
      if (value !== undefined) finish(undefined, value);
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`process exited (code ${code}, signal ${signal}) while waiting for ${what}`));
    function finish(error?: Error, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Resolve when the child has exited by itself, or after `timeoutMs` (whichever comes first). */
export function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Stop a child: SIGTERM, then SIGKILL if it lingers. Resolves when it has exited. */
export function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}

process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}
