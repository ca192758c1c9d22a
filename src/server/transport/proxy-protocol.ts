import { isIP, type Server, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { Command, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';

/** What a PROXY header said: the client's address, or null (LOCAL command, UNKNOWN or non-IP family: the peer's own). */
export interface ProxyHeader {
  source: string | null;
}

export class ProxyHeaderError extends Error {
  override readonly name = 'ProxyHeaderError';
}

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 line the specification allows, CRLF included. */
const V1_MAX_BYTES = 107;
/** v2 headers from load balancers carry a few TLVs; a longer one is refused rather than buffered. */
const V2_MAX_BYTES = 16 + 4096;

/**
 * Reads a PROXY protocol header (v1 text or v2 binary) from the start of a connection, then puts the bytes that
 * followed it back, so the next reader (HTTP, TLS) sees the stream as if the header had never been there. Parsing of
 * the header itself is `proxy-protocol-js`; the framing (how many bytes are the header) is done here, byte-exact.
 * Rejects with ProxyHeaderError when the connection does not start with a valid header within `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (error: Error | null, header?: ProxyHeader, rest?: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onEnd);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (error) return reject(error);
      socket.pause();
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(header!);
    };
    const onEnd = () => finish(new ProxyHeaderError('the connection ended before its PROXY header'));
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        const framed = frameHeader(buffered);
        if (framed) finish(null, parseHeader(buffered.subarray(0, framed)), buffered.subarray(framed));
      } catch (error) {
        finish(error as Error);
      }
    };
    const timer = setTimeout(() => finish(new ProxyHeaderError(`no PROXY header within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onEnd);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** The header's length once `bytes` hold all of it; 0 while more must arrive. Throws when it cannot be a header. */
function frameHeader(bytes: Buffer): number {
  if (bytes[0] === V2_SIGNATURE[0]) {
    const known = Math.min(bytes.length, V2_SIGNATURE.length);
    if (!bytes.subarray(0, known).equals(V2_SIGNATURE.subarray(0, known))) throw new ProxyHeaderError('not a PROXY v2 signature');
    if (bytes.length < 16) return 0;
    const length = 16 + bytes.readUInt16BE(14);
    if (length > V2_MAX_BYTES) throw new ProxyHeaderError(`PROXY v2 header of ${length} bytes is too long`);
    return bytes.length >= length ? length : 0;
  }
  const known = Math.min(bytes.length, V1_PREFIX.length);
  if (!bytes.subarray(0, known).equals(V1_PREFIX.subarray(0, known))) throw new ProxyHeaderError('the connection does not start with a PROXY header');
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end === -1) {
    if (bytes.length >= V1_MAX_BYTES) throw new ProxyHeaderError('PROXY v1 line too long');
    return 0;
  }
  if (end + 2 > V1_MAX_BYTES) throw new ProxyHeaderError('PROXY v1 line too long');
  return end + 2;
}

function parseHeader(header: Buffer): ProxyHeader {
  if (header[0] === V2_SIGNATURE[0]) {
    let parsed: V2ProxyProtocol;
    try {
      parsed = V2ProxyProtocol.parse(header);
    } catch (error) {
      throw new ProxyHeaderError(`invalid PROXY v2 header: ${(error as { message: string }).message}`);
    }
    // LOCAL: the proxy's own connection (health checks): the peer address is the truth.
    if (parsed.command === Command.LOCAL) return { source: null };
    const address = parsed.proxyAddress;
    if (address instanceof IPv4ProxyAddress) return { source: address.sourceAddress.address.join('.') };
    if (address instanceof IPv6ProxyAddress) return { source: formatIPv6(address.sourceAddress.address) };
    return { source: null };
  }
  const line = header.toString('latin1');
  if (line === 'PROXY UNKNOWN\r\n' || line.startsWith('PROXY UNKNOWN ')) return { source: null };
  let parsed: V1ProxyProtocol;
  try {
    parsed = V1ProxyProtocol.parse(line);
  } catch (error) {
    throw new ProxyHeaderError(`invalid PROXY v1 header: ${(error as { message: string }).message}`);
  }
  const source = parsed.source.ipAddress;
  if (isIP(source) !== (parsed.inetProtocol === 'TCP4' ? 4 : 6)) throw new ProxyHeaderError(`invalid PROXY v1 source address ${source}`);
  return { source: normalizeAddress(source) };
}

/** 16 bytes as the shortest IPv6 text (IPv4-mapped ones as dotted IPv4). */
function formatIPv6(bytes: readonly number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The URL parser writes IPv6 hosts in their canonical, compressed form.
  return normalizeAddress(new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1));
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is `10.0.0.1`; one address, one spelling. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hexMapped) {
    const [high, low] = [parseInt(hexMapped[1]!, 16), parseInt(hexMapped[2]!, 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return address;
}

/**
 * Makes `server` read a PROXY header first on every connection from a trusted peer: the header's source is handed
 * to `onHeader`, then the server's own connection handling (HTTP parser, TLS handshake) takes over. Connections whose
 * header is missing or invalid are dropped (`onRefused`); untrusted peers are served as they are, so their bytes are
 * never taken for a header.
 */
export function acceptProxyProtocol(
  server: Server,
  options: {
    trusted(address: string): boolean;
    timeoutMs: number;
    onHeader(socket: Socket, header: ProxyHeader): void;
    onRefused(socket: Socket, error: Error): void;
  },
): void {
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const handOver = (socket: Socket) => {
    for (const handler of handlers) handler.call(server, socket);
  };
  // A TLS server reads the socket's handle itself; a plain HTTP server needs the paused stream resumed.
  const resume = !(server instanceof TlsServer);
  server.on('connection', (socket: Socket) => {
    if (!options.trusted(normalizeAddress(socket.remoteAddress ?? ''))) {
      handOver(socket);
      return;
    }
    readProxyHeader(socket, options.timeoutMs).then(
      (header) => {
        options.onHeader(socket, header);
        handOver(socket);
        if (resume) socket.resume();
      },
      (error: Error) => {
        options.onRefused(socket, error);
        socket.destroy();
      },
    );
  });
}
