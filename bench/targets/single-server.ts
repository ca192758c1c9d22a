import { fileURLToPath } from 'node:url';
import { startAnnouncingServer } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

/** The Node a peer's server runs on, or why there is none on this machine. */
export type ServerRuntime = { nodePath: string; note?: string } | { unavailable: string };

const benchNode = (): ServerRuntime => ({ nodePath: process.execPath });

/**
 * A peer that is one server process from bench/servers/, reached at `<scheme>://127.0.0.1:<port>`. `runtime` picks the
 * Node it runs on (default: the bench's own).
 */
export function singleServerTarget(name: string, kind: Target['kind'], script: string, scheme: 'ws' | 'http', runtime = benchNode): Target {
  const serverModule = fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
  return {
    name,
    kind,
    nodes: 1,
    async unavailableReason() {
      const chosen = runtime();
      return 'unavailable' in chosen ? chosen.unavailable : undefined;
    },
    note() {
      const chosen = runtime();
      return 'note' in chosen ? chosen.note : undefined;
    },
    async start(options: StartOptions): Promise<RunningTarget> {
      const chosen = runtime();
      if ('unavailable' in chosen) throw new Error(chosen.unavailable);
      const server = await startAnnouncingServer(script.replace(/-server\.ts$/, ''), [serverModule, String(options.pingIntervalMs)], chosen.nodePath);
      return {
        urls: [`${scheme}://127.0.0.1:${server.port}`],
        serverPids: [server.pid],
        helperPids: [],
        memory: () => server.memory(),
        stop: () => server.stop(),
      };
    },
  };
}
