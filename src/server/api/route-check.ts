import { WsgateError } from '../../protocol/errors.js';
import { isReservedType } from '../../protocol/frames.js';
import { isValidUserId } from '../../protocol/names.js';
import type { ChannelRules } from '../channels/channel-rules.js';

/** A route's request as its check sees it: path parameters (decoded) and the body, already valid against the schema. */
export interface RouteInput {
  params: Record<string, string>;
  body: unknown;
}

/**
 * What a route checks of a request before it acts — names, namespaces, ids — without side effects, throwing the
 * catalogue error. It runs before the handler of a direct request, and for every item of a batch before any item runs.
 */
export type RouteCheck = (input: RouteInput) => void;

declare module 'fastify' {
  interface FastifyContextConfig {
    check?: RouteCheck;
  }
}

/** The checks of the server API's routes, built on the node's namespace rules. */
export function routeChecks(rules: ChannelRules) {
  const field = (body: unknown, name: string): unknown => (body as Record<string, unknown> | undefined)?.[name];
  return {
    channelInPath: (({ params }) => void rules.resolve(params.channel)) as RouteCheck,
    channelInBody: (({ body }) => void rules.resolve(field(body, 'channel'))) as RouteCheck,
    userInPath: (({ params }) => {
      if (!isValidUserId(params.user)) throw new WsgateError('USER_INVALID');
    }) as RouteCheck,
    /** Backends cannot push protocol frames (`message`, `disconnect`, ...). */
    actionType: (({ body }) => {
      const type = field(body, 'type');
      if (typeof type === 'string' && isReservedType(type)) throw new WsgateError('ACTION_RESERVED', `"${type}" is a protocol frame type`);
    }) as RouteCheck,
  };
}

/** Several checks in order. */
export function allOf(...checks: RouteCheck[]): RouteCheck {
  return (input) => {
    for (const check of checks) check(input);
  };
}
