import type { Redis } from 'ioredis';

/** What ioredis keeps of the commands a dropped connection left without a reply (not part of its typed API). */
interface UnansweredQueue {
  length: number;
  shift(): { command: { reject(error: Error): void } } | undefined;
}

/**
 * Guarantee: a command sent on a connection that drops before its reply arrives fails (`Connection lost before the
 * reply`) and is never sent again. The server may have run it: a publication script run twice would publish one
 * publication under two offsets, or under two epochs after a restart. ioredis either resends such commands
 * (`autoResendUnfulfilledCommands`, its default) or, with that off, forgets them without settling their promises, so
 * its caller would wait forever; this rejects them as soon as the client starts reconnecting.
 */
export function failUnansweredCommands(client: Redis): void {
  const internals = client as unknown as { prevCommandQueue: UnansweredQueue | null };
  client.on('reconnecting', () => {
    const queue = internals.prevCommandQueue;
    if (!queue) return;
    internals.prevCommandQueue = null;
    const error = new Error('Connection lost before the reply; the command was not sent again');
    for (let item = queue.shift(); item; item = queue.shift()) item.command.reject(error);
  });
}
