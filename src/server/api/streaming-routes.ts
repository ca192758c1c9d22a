import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { WsgateError } from '../../protocol/errors.js';
import { NdjsonFraming, SseFraming, type StreamFraming } from '../transport/http-stream-transport.js';
import type { GatewayContext } from './context.js';

/** The paths of the streaming transports (docs/protocol.md, "Streaming transports"). */
export const StreamingPaths = { sse: '/sse', stream: '/stream', emulation: '/emulation' } as const;

const ClientFrame = Type.Object({}, { additionalProperties: true });

const EmulationBody = Type.Object(
  {
    session: Type.String({ minLength: 1, maxLength: 64 }),
    secret: Type.String({ minLength: 1, maxLength: 128 }),
    /** The POST's place in the session's sequence, from 1; POSTs with it are applied in this order. */
    seq: Type.Optional(Type.Integer({ minimum: 1 })),
    frames: Type.Optional(Type.Array(ClientFrame, { minItems: 1 })),
    frame: Type.Optional(ClientFrame),
  },
  { additionalProperties: false },
);

/**
 * The streaming transports: `GET /sse` and `POST /stream` open a session whose server frames stream back on the
 * response (which the node holds from then on), `POST /emulation` carries a streaming session's client frames.
 */
export function registerStreamingRoutes(app: FastifyInstance, context: GatewayContext): void {
  /**
   * A page on another origin (the app on `app.example`, the gateway on `rt.example`) may read the streams and post,
   * when its origin is allowed: the CORS answer names it, with credentials (cookies, `EventSource` withCredentials).
   */
  const allowCrossOrigin = (request: FastifyRequest, reply: FastifyReply): void => {
    const origin = request.headers.origin;
    if (origin === undefined || !context.origins.allows(origin)) return;
    reply.raw.setHeader('Access-Control-Allow-Origin', origin);
    reply.raw.setHeader('Access-Control-Allow-Credentials', 'true');
    reply.raw.setHeader('Vary', 'Origin');
  };
  for (const path of [StreamingPaths.stream, StreamingPaths.emulation]) {
    // The preflight of a POST with a JSON body or the stream's `Accept` header.
    app.options(path, async (request, reply) => {
      allowCrossOrigin(request, reply);
      return reply
        .header('Access-Control-Allow-Methods', 'POST')
        .header('Access-Control-Allow-Headers', 'content-type, accept, authorization')
        .header('Access-Control-Max-Age', '600')
        .status(204)
        .send();
    });
  }

  const open = (framing: StreamFraming, path: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    allowCrossOrigin(request, reply);
    // From here the node writes the response itself, for the session's life.
    reply.hijack();
    await context.openStream(request.raw, reply.raw, framing, path);
  };
  app.get(StreamingPaths.sse, open(SseFraming, StreamingPaths.sse));
  app.post(StreamingPaths.stream, open(NdjsonFraming, StreamingPaths.stream));

  app.post<{ Body: Static<typeof EmulationBody> }>(StreamingPaths.emulation, { schema: { body: EmulationBody } }, async (request, reply) => {
    allowCrossOrigin(request, reply);
    const origin = request.headers.origin;
    if (!context.origins.allows(origin)) throw new WsgateError('ORIGIN_FORBIDDEN', `origin ${origin} is not allowed`);
    const { session, secret, seq, frames, frame } = request.body;
    const list = frames ?? (frame ? [frame] : []);
    if (list.length === 0 || (frames && frame)) throw new WsgateError('BODY_INVALID', 'body carries either `frame` or `frames`');
    const streaming = context.config.streaming;
    if (list.length > streaming.maxFramesPerPost) throw new WsgateError('BODY_INVALID', `at most ${streaming.maxFramesPerPost} frames per request`);
    const texts = list.map((item) => JSON.stringify(item));
    if (texts.some((text) => Buffer.byteLength(text) > context.config.ws.maxPayload)) throw new WsgateError('FRAME_TOO_LARGE');
    const accepted = await context.clientFramePosts.accept({ session, secret, frames: texts, ...(seq === undefined ? {} : { seq }) });
    // An unknown session and a wrong secret are one answer: nothing is learnt about sessions without their secret.
    if (!accepted) throw new WsgateError('SESSION_NOT_FOUND');
    return reply.status(204).send();
  });
}
