/**
 * Personal data in failed events: a record that fails keeps its payload for replay, scrubbed by the
 * rules the good path stores events by, so no path keeps what the good path would not.
 */
import { anonymiseIp, anonymiseIpsIn } from './enrich/ip';
import { hashPersonalData, type PiiRules, type Pseudonymiser } from './enrich/pii';
import { hasPhoneDigits, isEmail, PHONE_IN_TEXT } from './enrich/pii-detector';
import { ENVELOPE_RULES } from './envelope-rules';
import type { PiiMarks } from './pii-marks';

type Json = Record<string, unknown>;

export interface PayloadScrubber {
  /**
   * A record read as a JSON object, as the good path would store its parts: `context.ip` and the
   * edge's `sourceIp` anonymised; properties hashed by PiiRules with `schema` (the event's, or null
   * when its name has none); the values of keys the pipeline does not read scrubbed as text. The
   * record itself when nothing changes; copies have no prototype, so reserved keys stay fields.
   * The caller has checked its depth.
   */
  record(body: Json, schema: { readonly pii: PiiMarks | null } | null): Json;
  /**
   * A record that cannot be read as one (not JSON, or nested too deep to walk): IP addresses,
   * email addresses and phone numbers anywhere in the text replaced, whatever the detector setting,
   * since no schema can say what is what and a false positive costs nothing in a payload that
   * cannot be replayed.
   */
  text(text: string): string;
}

/** The top-level fields a record may carry that the pipeline reads: the envelope and the edge's. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  ...Object.keys(ENVELOPE_RULES),
  'receivedAt',
  'source',
  'sourceIp',
  'requestUserAgent',
]);

export function createPayloadScrubber(rules: PiiRules): PayloadScrubber {
  const text = (value: string) => scrubText(value, rules.hash);
  return {
    text,
    record(body, schema) {
      let copy: Json | undefined;
      const set = (key: string, value: unknown) => {
        if (value !== body[key]) (copy ??= Object.assign(Object.create(null) as Json, body))[key] = value;
      };
      for (const key of Object.keys(body)) {
        const value = body[key];
        if (key === 'sourceIp') set(key, anonymisedIps(value));
        else if (key === 'context') set(key, withIpAnonymised(value));
        else if (key === 'properties') set(key, hashPersonalData(value, schema, rules));
        else if (!KNOWN_FIELDS.has(key)) set(key, mapStrings(value, text));
      }
      return copy ?? body;
    },
  };
}

/** An IP address anonymised; any other text with every address in it anonymised. */
function anonymisedIps(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return anonymiseIp(value);
  } catch {
    return anonymiseIpsIn(value);
  }
}

function withIpAnonymised(context: unknown): unknown {
  if (typeof context !== 'object' || context === null || Array.isArray(context)) return context;
  const { ip } = context as Json;
  const anonymised = anonymisedIps(ip);
  if (anonymised === ip) return context;
  const copy = Object.assign(Object.create(null) as Json, context);
  copy.ip = anonymised;
  return copy;
}

function mapStrings(value: unknown, change: (text: string) => string): unknown {
  if (typeof value === 'string') return change(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, change));
  const copy = Object.create(null) as Json;
  for (const key of Object.keys(value)) copy[key] = mapStrings((value as Json)[key], change);
  return copy;
}

function scrubText(text: string, hash: Pseudonymiser): string {
  const phonesHashed = hashEmailsIn(text, hash).replace(PHONE_IN_TEXT, (match) =>
    hasPhoneDigits(match) ? hash(match) : match,
  );
  return anonymiseIpsIn(phonesHashed);
}

const isLocalPartCode = (code: number) =>
  (code >= 48 && code <= 57) || // 0-9
  (code >= 65 && code <= 90) || // A-Z
  (code >= 97 && code <= 122) || // a-z
  code === 46 || // .
  code === 95 || // _
  code === 37 || // %
  code === 43 || // +
  code === 39 || // '
  code === 45; // -
const isDomainCode = (code: number) =>
  (code >= 48 && code <= 57) ||
  (code >= 65 && code <= 90) ||
  (code >= 97 && code <= 122) ||
  code === 46 ||
  code === 45;

/**
 * Every email address in a text hashed. It starts from each `@` and reads outwards, so its cost
 * stays linear in the text (a regex over a megabyte of junk could backtrack far longer).
 */
function hashEmailsIn(text: string, hash: Pseudonymiser): string {
  let out = '';
  let done = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > done && at - start < 64 && isLocalPartCode(text.charCodeAt(start - 1))) start--;
    let end = at + 1;
    while (end < text.length && end - at <= 255 && isDomainCode(text.charCodeAt(end))) end++;
    // A sentence's full stop or a trailing dash is not part of the address.
    while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
    const candidate = text.slice(start, end);
    if (start === at || !isEmail(candidate)) continue;
    out += text.slice(done, start) + hash(candidate);
    done = end;
    at = end - 1;
  }
  return done === 0 ? text : out + text.slice(done);
}
