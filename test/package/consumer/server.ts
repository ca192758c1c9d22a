// Compiled in the consumer project against the installed package's declarations (skipLibCheck off).
import { Gateway, loadConfig, MemoryEngine, type Config, type Engine } from 'wsgate';
import { WsgateClient, type ClientStatus, type Publication } from 'wsgate/client';
import { CloseCode, isErrorCode, type ErrorCode, type WelcomeFrame } from 'wsgate/protocol';

const config: Readonly<Config> = loadConfig({ overrides: { port: 0 } });
const engine: Engine = new MemoryEngine();
const gateway: Gateway = await Gateway.create(config, { engine });
const port: number = (await gateway.listen()).port;
// @ts-expect-error the config is typed: a port is a number
const portText: string = config.port;
const restart: 1012 = CloseCode.SERVICE_RESTART;
const code: ErrorCode | null = isErrorCode('DRAINING') ? 'DRAINING' : null;
const welcome = (frame: WelcomeFrame): string => frame.node;

const client = new WsgateClient({ url: `ws://127.0.0.1:${port}/ws` });
client.on('status', (status: ClientStatus) => status.type);
client.subscribe<{ text: string }>('chat:lobby').on('message', (message: Publication<{ text: string }>) => message.data.text);

export { portText, restart, code, welcome };
