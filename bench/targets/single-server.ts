import { fileURLToPath } from 'node:url';
import { startAnnouncingServer } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

/** A peer that is one server process from bench/servers/, reached at `<scheme>://127.0.0.1:<port>`. */
export function singleServerTarget(name: string, kind: Target['kind'], script: string, scheme: 'ws' | 'http'): Target {
  const serverModule = fileURLToPath(new URL(`../servers/${script}`, import.meta.url));
  return {
    name,
    kind,
    nodes: 1,
    unavailableReason: async () => undefined,
    async start(options: StartOptions): Promise<RunningTarget> {
      const server = await startAnnouncingServer(script.replace(/-server\.ts$/, ''), [serverModule, String(options.pingIntervalMs)]);
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
