/**
 * Which browser origins may open a WebSocket. Requests without an `Origin` header are not from a browser and pass
 * (they cannot ride a user's cookies). `*` allows every origin and is only in effect when configured explicitly;
 * `scheme://host:*` allows the host on any port (the development preset's localhost, where apps run on other ports).
 */
export class OriginPolicy {
  private readonly allowAll: boolean;
  private allowed: Set<string>;
  /** `scheme://host:` prefixes of the entries that end in `:*`. */
  private readonly anyPort: string[];

  /** With an empty list, the gateway's own origin on localhost is allowed (`https` when the node terminates TLS). */
  constructor(private readonly configured: readonly string[], port: number, private readonly scheme: 'http' | 'https' = 'http') {
    this.allowAll = configured.includes('*');
    this.anyPort = configured.filter((origin) => origin.endsWith(':*')).map((origin) => normalise(origin).slice(0, -1));
    this.allowed = this.allowList(port);
  }

  /** The port actually bound (config port 0 picks one): the default list names the gateway's own origin. */
  bindPort(port: number): void {
    this.allowed = this.allowList(port);
  }

  private allowList(port: number): Set<string> {
    const own = ['localhost', '127.0.0.1', '[::1]'].map((host) => `${this.scheme}://${host}:${port}`);
    const list = this.configured.length > 0 ? this.configured : own;
    return new Set(list.map((origin) => normalise(origin)));
  }

  allows(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.allowAll) return true;
    const normalised = normalise(origin);
    if (this.allowed.has(normalised)) return true;
    return this.anyPort.some((prefix) => normalised.startsWith(prefix) && /^\d{1,5}$/.test(normalised.slice(prefix.length)));
  }
}

function normalise(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}
