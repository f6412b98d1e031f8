import { isIPv6 } from 'node:net';
import { EnrichmentError } from '../errors';

/**
 * Anonymises an IP address before anything stores it: an IPv4 address loses its last octet, an
 * IPv6 address its last 80 bits (a /48 remains). IPv4-mapped IPv6 addresses are treated as IPv4.
 * Applying it twice changes nothing, so replayed events stay stable.
 */
export function anonymiseIp(ip: string): string {
  const address = ip.trim();
  const lastDot = ipv4LastDot(address);
  if (lastDot > 0) return `${address.slice(0, lastDot)}.0`;
  const zoneless = address.replace(/%.*$/, '');
  // The value is not quoted: the message is kept with the failed event and may be logged, and
  // the text may hold a full address or anything else a client put there.
  if (!isIPv6(zoneless))
    throw new EnrichmentError('context.ip is not one IPv4 or IPv6 address', '/context/ip');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped?.[1] !== undefined) return `::ffff:${anonymiseIp(mapped[1])}`;
  const hextets = expandIPv6(zoneless);
  const kept = hextets.slice(0, 3).map((h) => h.toString(16));
  return `${kept.join(':')}::`;
}

// A dotted quad not inside a longer run of digits and dots.
const IPV4_IN_TEXT =
  /(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\d)/g;
// Runs that could hold an IPv6 address; isIPv6 decides. Matching whole runs keeps this linear.
const IPV6_CANDIDATE = /[0-9A-Fa-f:.]{3,}/g;

/**
 * Every IP address written anywhere in a text, anonymised as anonymiseIp does: for values that are
 * not one address (`"203.0.113.7, 10.0.0.1"`) and records that cannot be read as JSON.
 */
export function anonymiseIpsIn(text: string): string {
  return text
    .replace(IPV6_CANDIDATE, (run) => {
      const address = run.replace(/[.:]+$/, (tail) => (tail.startsWith('::') ? tail : ''));
      if (!address.includes(':') || !isIPv6(address)) return run;
      return anonymiseIp(address) + run.slice(address.length);
    })
    .replace(IPV4_IN_TEXT, (address) => anonymiseIp(address));
}

/**
 * Where the last octet of a dotted-quad IPv4 address starts (the index of its last dot), or -1
 * when it is not one. Accepts exactly what net.isIPv4 does (0-255, no leading zeros), by a scan
 * instead of its regex: every stored event carries an address.
 */
function ipv4LastDot(address: string): number {
  let octets = 0;
  let start = 0;
  let value = 0;
  for (let i = 0; i <= address.length; i++) {
    const code = i < address.length ? address.charCodeAt(i) : 46;
    if (code === 46) {
      const digits = i - start;
      if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && address.charCodeAt(start) === 48))
        return -1;
      if (++octets === 4) return i === address.length ? start - 1 : -1;
      start = i + 1;
      value = 0;
    } else if (code >= 48 && code <= 57) value = value * 10 + code - 48;
    else return -1;
  }
  return -1;
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
