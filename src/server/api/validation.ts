import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are validated as sent: no type coercion (`{"channel": 5}` is a 400, not the channel "5") and unknown fields
 * are refused where a schema says `additionalProperties: false`. Path and query parts are strings on the wire, so
 * they are coerced to the schema's types.
 */
const bodyAjv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const partsAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : partsAjv).compile(schema) as ValidateFunction & ((data: unknown) => boolean);

/** The body validator fastify uses, for checking batch items before any of them runs. */
export function compileBody(schema: object): ValidateFunction {
  return bodyAjv.compile(schema);
}
