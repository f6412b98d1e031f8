import { isIPv4, isIPv6 } from 'node:net';
import { EnrichmentError } from '../errors';

/**
 * Anonymises an IP address before anything stores it: an IPv4 address loses its last octet, an
 * IPv6 address its last 80 bits (a /48 remains). IPv4-mapped IPv6 addresses are treated as IPv4.
 * Applying it twice changes nothing, so replayed events stay stable.
 */
export function anonymiseIp(ip: string): string {
  const address = ip.trim();
  if (isIPv4(address)) return address.replace(/\.\d+$/, '.0');
  const zoneless = address.replace(/%.*$/, '');
  if (!isIPv6(zoneless)) throw new EnrichmentError(`"${ip}" is not an IPv4 or IPv6 address`, '/context/ip');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped?.[1] !== undefined) return `::ffff:${anonymiseIp(mapped[1])}`;
  const hextets = expandIPv6(zoneless);
  const kept = hextets.slice(0, 3).map((h) => h.toString(16));
  return `${kept.join(':')}::`;
}

/** The eight 16-bit groups of a valid IPv6 address (which may end in a dotted IPv4 part). */
function expandIPv6(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  if (tail === undefined) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
