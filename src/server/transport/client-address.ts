import type { IncomingMessage } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import parseForwarded from 'forwarded-parse';
import { parseAddressRange } from '../config/address-range.js';
import type { Config } from '../config/schema.js';
import { normalizeAddress } from './proxy-protocol.js';

/**
 * The real address of a client behind proxies. A connection's address is its peer's, or what the PROXY header of a
 * trusted peer said. A request's address then walks the proxy header (`X-Forwarded-For` or `Forwarded`) from the
 * right while the hop is a trusted proxy: the first untrusted hop is the client. Headers from untrusted peers are
 * ignored, so nobody outside can choose the address they are counted under.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  private readonly fromHeader = new WeakMap<Socket, string>();
  readonly proxyProtocol: boolean;

  constructor(private readonly config: Readonly<Config['proxy']>) {
    for (const entry of config.trustedProxies) addTrusted(this.trusted, entry);
    this.proxyProtocol = config.protocol;
  }

  isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Records what a trusted peer's PROXY header said the connection's client is. */
  setConnectionSource(socket: Socket, address: string): void {
    this.fromHeader.set(socket, address);
  }

  /** The connection's client: from its PROXY header, else its peer. */
  ofConnection(socket: Socket): string {
    // A TLS socket wraps the TCP socket the PROXY header was read from.
    const tcp = (socket as Socket & { _parent?: Socket })._parent;
    return this.fromHeader.get(socket) ?? (tcp && this.fromHeader.get(tcp)) ?? normalizeAddress(socket.remoteAddress ?? 'unknown');
  }

  /** The client of an HTTP request (a WebSocket handshake, an API call). */
  ofRequest(req: IncomingMessage): string {
    let address = this.ofConnection(req.socket);
    if (this.config.header === 'none' || !this.isTrusted(address)) return address;
    const hops = this.hops(req);
    for (let i = hops.length - 1; i >= 0 && this.isTrusted(address); i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) break;
      address = normalizeAddress(hop);
    }
    return address;
  }

  /** The addresses the proxy header lists, client first; an unreadable header lists none. */
  private hops(req: IncomingMessage): string[] {
    if (this.config.header === 'x-forwarded-for') {
      const header = req.headers['x-forwarded-for'];
      const text = Array.isArray(header) ? header.join(',') : header;
      return text ? text.split(',').map((hop) => stripPort(hop.trim())) : [];
    }
    const header = req.headers.forwarded;
    if (!header) return [];
    try {
      return parseForwarded(header).map((element) => stripPort(element.for ?? ''));
    } catch {
      return [];
    }
  }
}

/** `[2001:db8::1]:4711` -> `2001:db8::1`, `192.0.2.1:80` -> `192.0.2.1`. */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) return hop.slice(1, hop.indexOf(']') === -1 ? undefined : hop.indexOf(']'));
  const colon = hop.indexOf(':');
  return colon !== -1 && hop.indexOf(':', colon + 1) === -1 ? hop.slice(0, colon) : hop;
}

/** Entries were checked when the configuration was loaded; one that is not a range here is a bug. */
function addTrusted(list: BlockList, entry: string): void {
  const range = parseAddressRange(entry);
  if (!range) throw new Error(`proxy.trustedProxies: "${entry}" is not an address or CIDR`);
  list.addSubnet(range.address, range.prefix, range.family);
}
