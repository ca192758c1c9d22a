import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import type * as ClientModule from '../../src/client/index.js';
import { ScriptedGateway } from './scripted-gateway.js';

describe('browser bundle (scripts/build-client.mjs)', () => {
  let dir: string;
  let bundle: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wsgate-client-bundle-'));
    // .mjs: the temporary directory has no package.json saying "type": "module".
    bundle = join(dir, 'wsgate-client.mjs');
    const script = fileURLToPath(new URL('../../scripts/build-client.mjs', import.meta.url));
    await promisify(execFile)(process.execPath, [script, '--outfile', bundle]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is one minified ES module with a source map and no imports', async () => {
    const code = await readFile(bundle, 'utf8');
    assert.match(code, /sourceMappingURL=wsgate-client\.mjs\.map/);
    assert.doesNotMatch(code, /^import |\bimport\s*\(|require\(/m);
    assert.ok(code.length < 25_000, `bundle grew to ${code.length} bytes`);
    JSON.parse(await readFile(`${bundle}.map`, 'utf8'));
  });

  it('connects and answers requests like the source', async () => {
    const { WsgateClient } = (await import(pathToFileURL(bundle).href)) as typeof ClientModule;
    const gateway = await ScriptedGateway.start();
    const client = new WsgateClient({ url: gateway.url, WebSocket, getTicket: () => 'bundled' });
    try {
      const connected = new Promise<void>((resolve) => client.on('status', (s) => s.type === 'connected' && resolve()));
      client.connect();
      const session = await gateway.nextSession();
      assert.equal(session.handshake.url.searchParams.get('ticket'), 'bundled');
      session.welcome('s1');
      await connected;
      const reply = client.request('ping.me', 1);
      const frame = await session.expect('ping.me');
      session.send({ type: 'reply', id: frame.id, payload: 2 });
      assert.equal(await reply, 2);
    } finally {
      client.disconnect();
      await gateway.close();
    }
  });
});
