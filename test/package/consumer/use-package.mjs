// Uses the installed package the way an application does; run from the consumer project with the URL of a gateway
// started by `npx wsgate serve --dev`. Prints one JSON line with what it saw.
import { Gateway, loadConfig, CloseCode } from 'wsgate';
import { WsgateClient } from 'wsgate/client';
import { ErrorCatalogue, Subprotocol } from 'wsgate/protocol';

const [url] = process.argv.slice(2);

// The client SDK on the runtime's own WebSocket (no `ws` option): one client publishes, another receives.
const reader = new WsgateClient({ url });
const writer = new WsgateClient({ url });
reader.connect();
writer.connect();
const room = reader.subscribe('chat:lobby');
const received = new Promise((resolve) => room.on('message', ({ data }) => resolve(data)));
await new Promise((resolve) => room.once('subscribed', resolve));
await writer.publish('chat:lobby', { text: 'from the package' });
const data = await received;
reader.disconnect();
writer.disconnect();

// The server embedded in the application.
const gateway = await Gateway.create(loadConfig({ overrides: { port: 0, host: '127.0.0.1', log: { level: 'silent' } } }));
const { port } = await gateway.listen();
const health = await fetch(`http://127.0.0.1:${port}/healthz`);
await gateway.stop();

console.log(JSON.stringify({
  data, health: health.status, restart: CloseCode.SERVICE_RESTART, codes: Object.keys(ErrorCatalogue).length, subprotocol: Subprotocol.JSON_V1,
}));
