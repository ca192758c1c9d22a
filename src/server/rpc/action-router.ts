/**
 * Folder rpc/: application actions — the route table from type patterns to backends (configured and registered at run
 * time) and the HTTP router that calls them. It may import protocol/, codec/ (the parsed action), engine contracts
 * (registered routes), observability and the Session type; the node layer calls it.
 */
import { WsgateError } from '../../protocol/errors.js';
import type { ParsedFrame } from '../codec/protocol-codec.js';
import type { Session } from '../session/session.js';

/** Answers application actions; the route table decides which backend owns a type. */
export interface ActionRouter {
  route(session: Session, action: ParsedFrame & { kind: 'action' }): Promise<unknown | undefined>;
}

/** No backends configured: every application action is refused with NO_ROUTE. */
export const noRoutes: ActionRouter = {
  async route(_session, parsed) {
    throw new WsgateError('NO_ROUTE', `no backend handles "${parsed.action.type}"`);
  },
};
