import { isIP } from 'node:net';

export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fd00::/8`, `127.0.0.1`, `::1` (a single address is a full-length prefix); null when it is neither. */
export function parseAddressRange(entry: string): AddressRange | null {
  const [address = '', bits, ...extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra.length > 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) return null;
  const max = family === 6 ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return null;
  return { address, prefix, family: family === 6 ? 'ipv6' : 'ipv4' };
}
