import { fileURLToPath } from 'node:url';
import { startAnnouncingServer } from './server-process.js';
import type { RunningTarget, StartOptions, Target } from './target.js';

const serverModule = fileURLToPath(new URL('../servers/socketio-server.ts', import.meta.url));

/** Socket.IO 4, one node, rooms, WebSocket transport only. */
export const socketIoTarget: Target = {
  name: 'socket.io',
  kind: 'socketio',
  nodes: 1,
  unavailableReason: async () => undefined,
  async start(options: StartOptions): Promise<RunningTarget> {
    const server = await startAnnouncingServer('socketio', [serverModule, String(options.pingIntervalMs)]);
    return {
      urls: [`http://127.0.0.1:${server.port}`],
      serverPids: [server.pid],
      helperPids: [],
      memory: () => server.memory(),
      stop: () => server.stop(),
    };
  },
};
