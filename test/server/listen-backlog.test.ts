/** `listenBacklog` reaches the kernel: the listening socket's queue, as `ss` reads it (Send-Q of a listener). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.js';

const run = promisify(execFile);

async function backlogOf(port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Hltn', `sport = :${port}`]);
  // State Recv-Q Send-Q Local Peer: for a listener, Send-Q is the backlog it was given (capped by somaxconn).
  const [, , sendQ] = stdout.trim().split(/\s+/);
  return Number(sendQ);
}

test('the node listens with listenBacklog, and by default with 4096 capped by net.core.somaxconn', async () => {
  const somaxconn = Number((await readFile('/proc/sys/net/core/somaxconn', 'utf8')).trim());
  const given = await startGateway({ listenBacklog: 77 });
  const defaulted = await startGateway();
  try {
    assert.equal(await backlogOf(given.port), 77);
    assert.equal(await backlogOf(defaulted.port), Math.min(4096, somaxconn));
  } finally {
    await Promise.all([given.stop(), defaulted.stop()]);
  }
});
