/**
 * What a frame written to a client is, as traffic metrics count it: the protocol's server frame types, and `action`
 * for application actions. The encoder that writes a frame knows its kind and records it on the prepared frame, so
 * nothing reads a frame's bytes to learn it.
 */
export const OUTBOUND_TYPES = [
  'welcome', 'subscribed', 'unsubscribed', 'published', 'presence', 'history', 'sent', 'message', 'join', 'leave',
  'direct', 'reply', 'error', 'disconnect', 'refresh_required', 'refreshed', 'lost', 'action',
] as const;

export type OutboundType = (typeof OUTBOUND_TYPES)[number];

/** A frame's kind: its index in OUTBOUND_TYPES (a small integer, so counters are an array). */
export type FrameKind = number;

/** The kind of each outbound type. */
export const FrameKinds = Object.fromEntries(OUTBOUND_TYPES.map((type, index) => [type, index])) as Readonly<Record<OutboundType, FrameKind>>;

const kindsByType = new Map<string, FrameKind>(Object.entries(FrameKinds));

/** The kind of a frame of `type`; `action` for any type the protocol does not define (application actions). */
export function kindOfType(type: string): FrameKind {
  return kindsByType.get(type) ?? FrameKinds.action;
}
