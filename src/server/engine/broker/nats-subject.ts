/**
 * NATS subjects are `.`-separated tokens and treat `*` and `>` as wildcards, while channel names contain `:` `/` `.`
 * `@` `=` `+`. Every name becomes one subject-safe token: letters, digits and `-` stay (readable in `nats sub`
 * output), every other UTF-8 byte (including `_` itself) becomes `_` and two hex digits. The mapping is injective, so
 * two channels never share a subject.
 */
export function subjectToken(name: string): string {
  let token = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    token += /[A-Za-z0-9-]/.test(char) ? char : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  // An empty name still needs a non-empty token.
  return token || '_';
}

/** Subject of a channel's publications. */
export function channelSubject(prefix: string, channel: string): string {
  return `${subjectToken(prefix)}.c.${subjectToken(channel)}`;
}

/** Subject of a node's inbox. */
export function inboxSubject(prefix: string, nodeId: string): string {
  return `${subjectToken(prefix)}.n.${subjectToken(nodeId)}`;
}
