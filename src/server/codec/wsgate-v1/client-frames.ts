import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { WsgateError } from '../../../protocol/errors.js';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../protocol/json-depth.js';
import { isReservedType, type ApplicationAction, type ClientRequest, type RequestId } from '../../../protocol/frames.js';
import {
  ACTION_TYPE_PATTERN, MAX_CHANNEL_LENGTH, MAX_EPOCH_LENGTH, MAX_REQUEST_ID_LENGTH, MAX_USER_ID_LENGTH,
} from '../../../protocol/names.js';
import { RequestError, type ParsedFrame } from '../protocol-codec.js';

const Id = Type.Union([Type.String({ minLength: 1, maxLength: MAX_REQUEST_ID_LENGTH }), Type.Integer()]);
const Position = Type.Object({ offset: Type.Integer({ minimum: 0 }), epoch: Type.String({ maxLength: MAX_EPOCH_LENGTH }) });
/** Only the length here: a name that breaks the channel rules is refused with CHANNEL_INVALID where it is resolved. */
const Channel = Type.String({ minLength: 1, maxLength: MAX_CHANNEL_LENGTH });
/** A JWT or a ticket; JWTs with many claims run to a few kilobytes. */
const Credential = Type.String({ minLength: 1, maxLength: 16_384 });

/** Schemas of the built-in requests; unknown fields are ignored. */
const REQUEST_SCHEMAS: Record<ClientRequest['type'], TSchema> = {
  subscribe: Type.Object({ id: Id, channel: Channel, recover: Type.Optional(Position), token: Type.Optional(Credential) }),
  unsubscribe: Type.Object({ id: Id, channel: Channel }),
  publish: Type.Object({ id: Id, channel: Channel, data: Type.Unknown() }, { required: ['id', 'channel', 'data'] }),
  presence: Type.Object({ id: Id, channel: Channel }),
  history: Type.Object({ id: Id, channel: Channel, since: Type.Optional(Position), limit: Type.Optional(Type.Integer({ minimum: 1 })) }),
  send: Type.Object({ id: Id, user: Type.String({ minLength: 1, maxLength: MAX_USER_ID_LENGTH }), data: Type.Unknown() }, { required: ['id', 'user', 'data'] }),
  refresh: Type.Object({ id: Id, token: Credential, channel: Type.Optional(Channel) }),
};

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = new Map<string, ValidateFunction>(
  Object.entries(REQUEST_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
);
const validateAction: ValidateFunction = ajv.compile(Type.Object({ id: Type.Optional(Id) }));

/** Reads one text frame. Throws WsgateError (BAD_FRAME, BAD_REQUEST) with the request id when it could be read. */
export function parseClientFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WsgateError('BAD_FRAME');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WsgateError('BAD_REQUEST', 'frame must be a JSON object');
  }
  const frame = value as Record<string, unknown>;
  const id = readableId(frame.id);
  // Before any schema or serializer walks it: deep data parses, but re-encoding it overflows the stack.
  if (exceedsJsonDepth(text)) throw new RequestError(id, 'BAD_REQUEST', `frame nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (typeof frame.type !== 'string') throw new RequestError(id, 'BAD_REQUEST', 'frame has no string "type"');
  const type: string = frame.type;

  const validate = validators.get(type);
  if (validate) {
    if (!validate(frame)) throw new RequestError(id, 'BAD_REQUEST', describe(type, validate));
    return { kind: 'request', request: frame as unknown as ClientRequest };
  }
  if (isReservedType(type)) throw new RequestError(id, 'ACTION_RESERVED', `"${type}" is sent by the gateway, not by clients`);
  if (!ACTION_TYPE_PATTERN.test(type)) throw new RequestError(id, 'BAD_REQUEST', 'action type is not valid');
  if (!validateAction(frame)) throw new RequestError(id, 'BAD_REQUEST', describe(type, validateAction));
  return { kind: 'action', action: frame as unknown as ApplicationAction, raw: text };
}

function readableId(id: unknown): RequestId | undefined {
  if (typeof id === 'string' && id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH) return id;
  if (typeof id === 'number' && Number.isInteger(id)) return id;
  return undefined;
}

function describe(type: string, validate: ValidateFunction): string {
  const error = validate.errors?.[0];
  if (!error) return `invalid "${type}" frame`;
  if (error.keyword === 'required') return `"${type}" needs "${(error.params as { missingProperty: string }).missingProperty}"`;
  const field = error.instancePath.slice(1).replaceAll('/', '.') || 'frame';
  return `"${type}": ${field} ${error.message}`;
}
