import { Type } from '@sinclair/typebox';
import {
  ACTION_TYPE_PATTERN, MAX_CHANNEL_LENGTH, MAX_EPOCH_LENGTH, MAX_SESSION_ID_LENGTH, USER_ID_PATTERN,
} from '../../protocol/names.js';

/**
 * TypeBox schemas of the server API. Fastify validates bodies with them before a handler runs (see validation.ts:
 * no coercion, unknown fields refused), so a handler never sees a half-valid request.
 */
export const UserId = Type.String({ pattern: USER_ID_PATTERN.source });
export const SessionId = Type.String({ minLength: 1, maxLength: MAX_SESSION_ID_LENGTH });
/**
 * Channels are checked against the name rules and the namespaces by the handler (CHANNEL_INVALID, NAMESPACE_UNKNOWN),
 * their length (MAX_CHANNEL_LENGTH) included, so a name too long is refused like any other malformed name.
 */
export const ChannelName = Type.String({ minLength: 1 });

export const PublishBody = Type.Object(
  { channel: ChannelName, data: Type.Unknown() },
  { additionalProperties: false, required: ['channel', 'data'] },
);

/** An application action pushed to sessions; the session receives exactly `{type, payload}`. */
export const ActionBody = Type.Object(
  {
    type: Type.String({ pattern: ACTION_TYPE_PATTERN.source }),
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const DisconnectBody = Type.Object(
  {
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 120 })),
    /** False: close with 4500 (do not come back); default true: 4000. */
    reconnect: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Whom a server-side subscription change applies to: every session of a user, or one session. */
export const SubscriptionTarget = Type.Union([
  Type.Object({ user: UserId }, { additionalProperties: false }),
  Type.Object({ session: SessionId }, { additionalProperties: false }),
]);

export const UserParams = Type.Object({ user: Type.String() });
export const SessionParams = Type.Object({ session: Type.String() });
export const ChannelParams = Type.Object({ channel: Type.String() });
export const HistoryQuery = Type.Object(
  {
    /** Publications after this offset of `epoch`; without them, the latest `limit`. */
    sinceOffset: Type.Optional(Type.Integer({ minimum: 0 })),
    epoch: Type.Optional(Type.String({ maxLength: MAX_EPOCH_LENGTH })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export const ChannelListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ maxLength: MAX_CHANNEL_LENGTH })),
    /** The `cursor` of the previous page: a channel name. */
    cursor: Type.Optional(Type.String({ maxLength: MAX_CHANNEL_LENGTH })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export const WebhookEndpointParams = Type.Object({ endpoint: Type.String({ maxLength: 64 }) });
export const DeadLetterQuery = Type.Object(
  {
    /** The `next` of the previous page. */
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]+-[0-9]+$' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  },
  { additionalProperties: false },
);
export const ReplayBody = Type.Object(
  {
    /** Dead letters to send again, by id; without them, the oldest `limit`. */
    ids: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9]+-[0-9]+$' }), { minItems: 1, maxItems: 1_000 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
  },
  { additionalProperties: false },
);

export const MAX_BATCH_REQUESTS = 100;

export const BatchBody = Type.Object(
  {
    requests: Type.Array(
      Type.Object(
        {
          method: Type.Union([Type.Literal('GET'), Type.Literal('POST')]),
          path: Type.String({ pattern: '^/api/', maxLength: 2048 }),
          body: Type.Optional(Type.Unknown()),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_BATCH_REQUESTS },
    ),
  },
  { additionalProperties: false },
);
