import type { FastifyRequest } from 'fastify';
import type { PusherAppConfig } from '../../config/schema.js';

/** A refused Pusher API request: Pusher's status, and the plain-text line its SDKs show as the error's body. */
export class PusherApiError extends Error {
  override readonly name = 'PusherApiError';

  constructor(readonly status: number, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** What a Pusher route handler gets: the app the request was signed for, and its body as JSON (`{}` when empty). */
export interface PusherRequest {
  app: PusherAppConfig;
  body: Record<string, unknown>;
}

export type PusherRoute = (request: FastifyRequest, pusher: PusherRequest) => Promise<unknown>;

/** The routes of one verb under `/apps/:appId`, with what they need to answer. */
export interface PusherRouter {
  get(path: string, handler: PusherRoute): void;
  post(path: string, handler: PusherRoute): void;
}
