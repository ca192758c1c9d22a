import { FrameKinds as T, type FrameKind } from '../frame-kinds.js';

const TYPE_START = 9; // {"type":"
const QUOTE = 0x22;
const ACTION = T.action;

/**
 * The kind of a wsgate.v1.json frame that reaches this node as text another node's v1 encoder wrote (an inbox
 * message's frame, a presence event in a channel envelope): every v1 frame starts `{"type":"...`, so the type is read
 * from its first bytes, without parsing. Run once per frame a node receives, never per recipient.
 */
export function classify(payload: Buffer): FrameKind {
  const first = payload[TYPE_START];
  switch (first) {
    case 0x6d: return ends(payload, 7) ? T.message : ACTION; // m
    case 0x6a: return ends(payload, 4) ? T.join : ACTION; // j
    case 0x6c: // l: leave | lost
      if (payload[TYPE_START + 1] === 0x65) return ends(payload, 5) ? T.leave : ACTION;
      return ends(payload, 4) ? T.lost : ACTION;
    case 0x77: return ends(payload, 7) ? T.welcome : ACTION; // w
    case 0x68: return ends(payload, 7) ? T.history : ACTION; // h
    case 0x72: // r: reply | refreshed | refresh_required
      if (payload[TYPE_START + 2] === 0x70) return ends(payload, 5) ? T.reply : ACTION;
      if (ends(payload, 9)) return payload[TYPE_START + 8] === 0x64 ? T.refreshed : ACTION;
      return ends(payload, 16) && payload[TYPE_START + 7] === 0x5f ? T.refresh_required : ACTION;
    case 0x65: return ends(payload, 5) ? T.error : ACTION; // e
    case 0x75: return ends(payload, 12) ? T.unsubscribed : ACTION; // u
    case 0x73: // s: subscribed | sent
      if (payload[TYPE_START + 1] === 0x75) return ends(payload, 10) ? T.subscribed : ACTION;
      return ends(payload, 4) ? T.sent : ACTION;
    case 0x70: // p: published | presence
      if (payload[TYPE_START + 1] === 0x75) return ends(payload, 9) ? T.published : ACTION;
      return ends(payload, 8) ? T.presence : ACTION;
    case 0x64: // d: direct | disconnect
      if (payload[TYPE_START + 2] === 0x72) return ends(payload, 6) ? T.direct : ACTION;
      return ends(payload, 10) ? T.disconnect : ACTION;
    default:
      return ACTION;
  }
}

/** True when the type string has exactly `length` characters (its closing quote is where it should be). */
function ends(payload: Buffer, length: number): boolean {
  return payload[TYPE_START + length] === QUOTE;
}
