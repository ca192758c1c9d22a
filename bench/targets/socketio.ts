import { singleServerTarget } from './single-server.js';

/** Socket.IO 4, one node, rooms, WebSocket transport only. */
export const socketIoTarget = singleServerTarget('socket.io', 'socketio', 'socketio-server.ts', 'http');
