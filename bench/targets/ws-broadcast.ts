import { fileURLToPath } from 'node:url';
import { startAnnouncingServer } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

const serverModule = fileURLToPath(new URL('../servers/ws-broadcast-server.ts', import.meta.url));

/** Plain `ws` with a send-to-every-client loop: the naive baseline. */
export const wsBroadcastTarget: Target = {
  name: 'ws',
  kind: 'ws',
  nodes: 1,
  unavailableReason: async () => undefined,
  async start(options: StartOptions): Promise<RunningTarget> {
    const server = await startAnnouncingServer('ws-broadcast', [serverModule, String(options.pingIntervalMs)]);
    return {
      urls: [`ws://127.0.0.1:${server.port}`],
      serverPids: [server.pid],
      helperPids: [],
      memory: () => server.memory(),
      stop: () => server.stop(),
    };
  },
};
