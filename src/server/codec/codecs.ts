import { Subprotocol, type SubprotocolName } from '../../protocol/subprotocol.js';
import type { ProtocolCodec } from './protocol-codec.js';
import { wsgateV1 } from './wsgate-v1/codec.js';

const codecs: Readonly<Record<SubprotocolName, ProtocolCodec>> = {
  [Subprotocol.JSON_V1]: wsgateV1,
};

/** The codec of a negotiated subprotocol (see src/protocol/subprotocol.ts). */
export function codecFor(subprotocol: SubprotocolName): ProtocolCodec {
  return codecs[subprotocol];
}
