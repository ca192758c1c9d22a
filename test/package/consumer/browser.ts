// A browser application: the client and the protocol, compiled with the DOM library and no Node types at all.
import { WsgateClient, shouldReconnect } from 'wsgate/client';
import { CloseCode, Subprotocol } from 'wsgate/protocol';

const client = new WsgateClient({ getTicket: async () => (await (await fetch('/auth/ticket', { method: 'POST' })).json()).ticket });
client.on('status', (status) => document.title = status.type);
// @ts-expect-error subscribe takes a channel name
client.subscribe(42);
export const reconnects: boolean = shouldReconnect(CloseCode.SERVICE_RESTART);
export const protocol: string = Subprotocol.JSON_V1;
