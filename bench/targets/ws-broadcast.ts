import { singleServerTarget } from './single-server.js';

/** Plain `ws` with a send-to-every-client loop: the naive baseline. */
export const wsBroadcastTarget = singleServerTarget('ws', 'ws', 'ws-broadcast-server.ts', 'ws');
