import { WsgateError } from '../../protocol/errors.js';
import type { ParsedFrame } from '../session/client-frames.js';
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
