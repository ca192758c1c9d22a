import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAs, type TestClient } from '../helpers/client.js';
import { waitFor } from '../support/wait.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CloseCode, closeCodeName } from '../../src/protocol/close-codes.js';

describe('bad input from clients', () => {
  let gw: RunningGateway;
  let bystander: TestClient;
  before(async () => {
    gw = await startGateway({ ws: { maxPayload: 1024, maxBadFrames: 5 } });
    bystander = await connectAs(gw, 'bystander');
    await bystander.subscribe('chat:calm');
  });
  after(async () => {
    // Every case above left the bystander untouched: it still publishes and receives.
    const listener = await connectAs(gw, 'listener');
    await listener.subscribe('chat:calm');
    const got = listener.next('message');
    assert.equal((await bystander.request({ type: 'publish', channel: 'chat:calm', data: 'still here' })).type, 'published');
    assert.equal((await got).data, 'still here');
    assert.equal(bystander.count('error'), 0);
    await gw.stop();
  });

  test('each malformed frame gets an error frame and the session stays', async () => {
    const client = await connectAs(gw, 'messy');
    const cases: Array<[string, string, unknown]> = [
      ['{not json', 'BAD_FRAME', undefined],
      ['[1,2,3]', 'BAD_REQUEST', undefined],
      ['"just a string"', 'BAD_REQUEST', undefined],
      ['{"id":"x7"}', 'BAD_REQUEST', 'x7'],
      ['{"type":42,"id":"a"}', 'BAD_REQUEST', 'a'],
      ['{"type":"subscribe","id":"x8"}', 'BAD_REQUEST', 'x8'],
      ['{"type":"subscribe","id":"x9","channel":17}', 'BAD_REQUEST', 'x9'],
      ['{"type":"publish","id":"x10","channel":"chat:x"}', 'BAD_REQUEST', 'x10'],
      ['{"type":"subscribe","id":{"nested":1},"channel":"chat:x"}', 'BAD_REQUEST', undefined],
      ['{"type":"subscribe","id":"x11","channel":"chat:x","recover":{"offset":"1"}}', 'BAD_REQUEST', 'x11'],
      ['{"type":"message","id":"x12"}', 'ACTION_RESERVED', 'x12'],
      ['{"type":"bad type with spaces","id":"x13"}', 'BAD_REQUEST', 'x13'],
    ];
    for (const [text, code, id] of cases) {
      const since = client.frames.length;
      client.ws.send(text);
      const error = await client.waitFor((frame) => frame.type === 'error', 2_000, since);
      assert.equal(error.code, code, text);
      assert.equal(error.id, id, text);
      assert.equal(typeof error.message, 'string');
      // A valid request in between resets the bad-frame streak, so the session survives the whole list.
      await client.subscribe(`chat:ok-${since}`);
    }
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await client.close();
  });

  test('an application action without a route gets NO_ROUTE', async () => {
    const client = await connectAs(gw, 'app');
    const reply = await client.request({ type: 'ORDER_CREATE', payload: { sku: 1 } });
    assert.equal(reply.type, 'error');
    assert.equal(reply.code, 'NO_ROUTE');
    await client.close();
  });

  test('a binary frame gets BINARY_NOT_SUPPORTED', async () => {
    const client = await connectAs(gw, 'binary');
    const error = client.next('error');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await error).code, 'BINARY_NOT_SUPPORTED');
    assert.equal(client.ws.readyState, client.ws.OPEN);
    await client.close();
  });

  test('a frame over maxPayload closes the session with 1009', async () => {
    const client = await connectAs(gw, 'huge');
    client.ws.send(JSON.stringify({ type: 'publish', id: 1, channel: 'chat:calm', data: 'x'.repeat(2048) }));
    assert.equal((await client.closed).code, 1009);
    await waitFor(() => gw.gateway.hub.userSessions('huge').length === 0);
  });

  test('a message split into more fragments than ws.maxFragments closes the session with a documented code', async () => {
    // The default maxPayload, so the fragment count (not the size) is what refuses the message.
    const defaults = await startGateway();
    try {
      const client = await connectAs(defaults, 'fragments');
      // 1,024 fragments are allowed by default; a flood of tiny ones is refused before it can cost the node.
      for (let i = 0; i < 2_000; i++) client.ws.send('x', { fin: false });
      const { code } = await client.closed;
      assert.equal(code, CloseCode.POLICY_VIOLATION);
      assert.equal(closeCodeName(code), 'POLICY_VIOLATION', `close code ${code} is in the close-code table`);
      await waitFor(() => defaults.gateway.hub.userSessions('fragments').length === 0);
    } finally {
      await defaults.stop();
    }
  });

  test('too many bad frames in a row closes the session with 4005', async () => {
    const client = await connectAs(gw, 'flood');
    for (let i = 0; i < 5; i++) client.ws.send('garbage');
    const disconnect = await client.seen('disconnect');
    assert.equal(disconnect.code, 4005);
    assert.equal(disconnect.reconnect, true);
    assert.equal((await client.closed).code, 4005);
  });
});
