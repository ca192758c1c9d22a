import { connect, type Frame, type TestClient } from '../../helpers/client.js';
import type { NodeProcess } from './node.js';

/** A raw protocol client of `user` on `node`, through a ticket minted on `mintOn` (default: the same node). */
export async function connectUser(node: NodeProcess, user: string | null, claims: Record<string, unknown> = {}, mintOn: NodeProcess = node): Promise<TestClient> {
  return connect(node.wsUrl, { ticket: await mintOn.mintTicket(user, claims) });
}

/** Closes clients that are still open; for `after` hooks. */
export async function closeAll(clients: Iterable<TestClient>): Promise<void> {
  await Promise.all([...clients].map((client) => (client.ws.readyState <= 1 ? client.close() : client.closed)));
}

/** Frames of `type` a client received so far that match `predicate`. */
export function received(client: TestClient, type: string, predicate: (frame: Frame) => boolean = () => true): Frame[] {
  return client.frames.filter((frame) => frame.type === type && predicate(frame));
}

export type { TestClient, Frame };
