import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { connectAs, HandshakeRefused, open, type TestClient } from '../helpers/client.js';
import { api } from './api-client.js';

describe('server API: batch', () => {
  let running: RunningGateway;
  let reader: TestClient;

  before(async () => {
    running = await startGateway();
    reader = await connectAs(running, 'reader');
    await reader.subscribe('chat:batch');
  });
  after(async () => {
    await reader.close();
    await running.stop();
  });

  async function offset(): Promise<number> {
    return (await api(running, 'POST', '/api/publish', { channel: 'chat:batch', data: 'probe' })).body.offset as number;
  }

  test('runs items in order with the caller key and answers each', async () => {
    const answer = await api(running, 'POST', '/api/batch', {
      requests: [
        { method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 'one' } },
        { method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 'two' } },
        { method: 'POST', path: '/api/users/reader/send', body: { type: 'batched', payload: 3 } },
        { method: 'GET', path: '/api/channels/chat%3Abatch' },
        { method: 'POST', path: '/api/sessions/gone/send', body: { type: 'batched' } },
        { method: 'GET', path: '/api/channels?prefix=chat' },
      ],
    });
    assert.equal(answer.status, 200);
    const responses = answer.body.responses as Array<{ status: number; body: Record<string, any> }>;
    assert.deepEqual(responses.map((response) => response.status), [200, 200, 200, 200, 404, 200]);
    assert.equal(responses[1]!.body.offset, responses[0]!.body.offset + 1);
    assert.deepEqual(responses[2]!.body, { sessions: 1 });
    assert.equal(responses[3]!.body.subscribers, 1);
    assert.equal(responses[4]!.body.code, 'SESSION_NOT_FOUND');
    await reader.seen('batched');
    const data = reader.frames.filter((frame) => frame.type === 'message').map((frame) => frame.data);
    assert.deepEqual(data.slice(-2), ['one', 'two']);
  });

  test('items are routed as requests are: percent-encoded and long path parameters', async () => {
    const long = `chat:${'l'.repeat(200)}`;
    const answer = await api(running, 'POST', '/api/batch', {
      requests: [
        { method: 'GET', path: `/api/channels/${encodeURIComponent(long)}` },
        { method: 'GET', path: `/api/channels/${encodeURIComponent(long)}?ignored=1` },
      ],
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const direct = await api(running, 'GET', `/api/channels/${encodeURIComponent(long)}`);
    assert.deepEqual(answer.body.responses, [{ status: direct.status, body: direct.body }, { status: direct.status, body: direct.body }]);
  });

  test('names, namespaces and ids of every item are checked before the first item runs', async () => {
    const start = await offset();
    const good = { method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 'must not run' } };
    const refusals: Array<[string, unknown, string]> = [
      ['a bad channel name', { method: 'POST', path: '/api/publish', body: { channel: 'bad channel!', data: 1 } }, 'CHANNEL_INVALID'],
      ['an unknown namespace', { method: 'POST', path: '/api/publish', body: { channel: 'nowhere:x', data: 1 } }, 'NAMESPACE_UNKNOWN'],
      ['a bad channel in the path', { method: 'POST', path: '/api/channels/bad%20channel!/subscribe', body: { user: 'reader' } }, 'CHANNEL_INVALID'],
      ['an unknown namespace in the path', { method: 'GET', path: '/api/channels/nowhere%3Ax/presence' }, 'NAMESPACE_UNKNOWN'],
      ['an invalid user in the path', { method: 'POST', path: '/api/users/not%20a%20user/send', body: { type: 'hello' } }, 'USER_INVALID'],
      ['an invalid user to disconnect', { method: 'POST', path: '/api/users/not%20a%20user/disconnect' }, 'USER_INVALID'],
      ['a protocol frame type', { method: 'POST', path: '/api/users/reader/send', body: { type: 'disconnect' } }, 'ACTION_RESERVED'],
      ['a protocol frame type to a session', { method: 'POST', path: '/api/sessions/any/send', body: { type: 'message' } }, 'ACTION_RESERVED'],
      ['a malformed path escape', { method: 'GET', path: '/api/users/%zz' }, 'REQUEST_INVALID'],
    ];
    for (const [what, item, reason] of refusals) {
      const answer = await api(running, 'POST', '/api/batch', { requests: [good, item] });
      assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'BODY_INVALID', what);
      assert.match(answer.body.message, new RegExp(`^body/requests/1: ${reason}`), what);
    }
    assert.equal(await offset(), start + 1, 'the valid first items never ran');
  });

  test('one invalid item refuses the whole batch before anything runs', async () => {
    const start = await offset();
    const refusals: Array<[string, unknown]> = [
      ['unknown route', { requests: [{ method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 1 } }, { method: 'POST', path: '/api/nope' }] }],
      ['bad item body', { requests: [{ method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 1 } }, { method: 'POST', path: '/api/publish', body: { channel: 7 } }] }],
      ['missing body', { requests: [{ method: 'POST', path: '/api/publish', body: { channel: 'chat:batch', data: 1 } }, { method: 'POST', path: '/api/publish' }] }],
      ['bad method', { requests: [{ method: 'DELETE', path: '/api/info' }] }],
      ['path outside the API', { requests: [{ method: 'GET', path: '/metrics' }] }],
      ['nested batch', { requests: [{ method: 'POST', path: '/api/batch', body: { requests: [] } }] }],
      ['empty', { requests: [] }],
      ['too many', { requests: Array.from({ length: 101 }, () => ({ method: 'GET', path: '/api/info' })) }],
      ['unknown field', { requests: [{ method: 'GET', path: '/api/info', headers: {} }] }],
    ];
    for (const [what, body] of refusals) {
      const answer = await api(running, 'POST', '/api/batch', body);
      assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.code, 'BODY_INVALID', what);
    }
    assert.equal(await offset(), start + 1, 'no item of a refused batch ran');
    const hundred = await api(running, 'POST', '/api/batch', { requests: Array.from({ length: 100 }, () => ({ method: 'GET', path: '/api/info' })) });
    assert.equal(hundred.status, 200);
    assert.equal(hundred.body.responses.length, 100);
    const unauthorized = await api(running, 'POST', '/api/batch', { requests: [{ method: 'GET', path: '/api/info' }] }, { key: null });
    assert.equal(unauthorized.status, 401);
  });
});

describe('metrics', () => {
  let running: RunningGateway;

  before(async () => {
    running = await startGateway();
  });
  after(() => running.stop());

  test('GET /metrics exposes traffic, deliveries, limits, handshakes and API calls after traffic', async () => {
    const a = await connectAs(running, 'm1');
    const b = await connectAs(running, 'm2');
    await a.subscribe('chat:m');
    await b.subscribe('chat:m');
    for (let i = 0; i < 5; i++) await a.request({ type: 'publish', channel: 'chat:m', data: i });
    await b.seen('message', (frame) => frame.data === 4);
    await api(running, 'POST', '/api/users/m1/send', { type: 'hello.app', payload: 1 });
    await a.seen('hello.app');
    a.send({ type: 'subscribe' });
    await a.seen('error');
    await assert.rejects(open(running.wsUrl, { origin: 'http://evil.example' }), (error: HandshakeRefused) => error.status === 403);
    await api(running, 'GET', '/api/users/m1');
    await api(running, 'GET', '/api/users/m2');
    await api(running, 'GET', '/api/info', undefined, { key: null });

    const text = await (await fetch(`${running.httpUrl}/metrics`)).text();
    const value = (series: string): number => {
      const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      assert.ok(line, `${series} is exported`);
      return Number(line.slice(series.length + 1));
    };
    assert.equal(value('wsgate_sessions'), 2);
    assert.equal(value('wsgate_channels'), 1);
    assert.equal(value('wsgate_messages_in_total{type="publish"}'), 5);
    assert.equal(value('wsgate_messages_in_total{type="subscribe"}'), 2);
    assert.equal(value('wsgate_messages_out_total{type="message"}'), 5);
    assert.equal(value('wsgate_messages_out_total{type="published"}'), 5);
    assert.equal(value('wsgate_messages_out_total{type="welcome"}'), 2);
    assert.equal(value('wsgate_messages_out_total{type="action"}'), 1);
    assert.equal(value('wsgate_messages_out_total{type="error"}'), 1);
    assert.ok(value('wsgate_bytes_out_total') > 500);
    assert.ok(value('wsgate_deliveries_total') >= 5);
    assert.equal(value('wsgate_bad_frames_total'), 1);
    assert.equal(value('wsgate_slow_consumers_total'), 0);
    assert.equal(value('wsgate_dropped_frames_total'), 0);
    assert.equal(value('wsgate_handshake_failures_total{reason="ORIGIN_FORBIDDEN"}'), 1);
    assert.equal(value('wsgate_api_requests_total{route="/api/users/:user",method="GET",status="200"}'), 2, 'by route pattern, not URL');
    assert.equal(value('wsgate_api_requests_total{route="/api/info",method="GET",status="401"}'), 1);
    assert.equal(value('wsgate_api_request_seconds_count{route="/api/users/:user",method="GET"}'), 2);
    assert.ok(value('wsgate_process_nodejs_eventloop_lag_seconds') >= 0);
    assert.match(text, /wsgate_connections_total\{auth="ticket"\} 2/);
    await a.close();
    await b.close();
  });
});
