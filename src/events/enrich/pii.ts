import { createHmac } from 'node:crypto';
import type { PiiMarks } from '../pii-marks';
import { setProperty } from '../with-property';
import type { PiiDetector } from './pii-detector';

/** Gives the pseudonym of one value under a secret it holds. */
export type Pseudonymiser = (value: unknown) => string;

/**
 * The one rule for personal data in an event's properties, on every path: the fields its schema
 * marks `"x-pii": true` when it has a schema, else whatever the detector takes for personal data,
 * are replaced by their HMAC-SHA-256 under a secret (hex). Equal values get equal pseudonyms, so
 * joins and distinct counts still work, while a value cannot be read back without the secret.
 */
export interface PiiRules {
  hash: Pseudonymiser;
  detector: PiiDetector;
}

/**
 * The properties as they may be stored, by PiiRules: `schema` is the event's schema (its marks), or
 * null when the event has none. Copies what it changes and never mutates its input. Values that are
 * already pseudonyms are kept, so a failed event's payload (hashed the same way) can be replayed.
 * The caller has checked the shape rules, which bound the recursion.
 */
export function hashPersonalData(
  properties: unknown,
  schema: { readonly pii: PiiMarks | null } | null,
  rules: PiiRules,
): unknown {
  if (schema !== null)
    return schema.pii === null ? properties : hashMarked(properties, schema.pii, rules.hash);
  return rules.detector === null ? properties : hashDetected(properties, rules.detector, rules.hash);
}

/** The fields `marks` covers, hashed; see hashPersonalData. */
export function pseudonymise(
  properties: Record<string, unknown>,
  marks: PiiMarks,
  secret: string | Buffer | Pseudonymiser,
): Record<string, unknown> {
  const hash = typeof secret === 'function' ? secret : (value: unknown) => pseudonym(value, secret);
  return hashMarked(properties, marks, hash) as Record<string, unknown>;
}

export function pseudonym(value: unknown, secret: string | Buffer): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

const PSEUDONYM = /^[0-9a-f]{64}$/;

/** Whether a value has the form of a pseudonym (64 lowercase hex digits). */
export function isPseudonym(value: unknown): boolean {
  return typeof value === 'string' && value.length === 64 && PSEUDONYM.test(value);
}

/**
 * pseudonym() with a bounded cache (least recently used evicted first): an HMAC costs more than the
 * rest of enriching an event, and the same emails and ids recur batch after batch. The cache holds
 * raw values only in this process's memory, as the events in flight do.
 */
export function createPseudonymiser(secret: string | Buffer, maxEntries = 10_000): Pseudonymiser {
  const cache = new Map<string, string>();
  return (value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    let hashed = cache.get(text);
    if (hashed !== undefined) {
      cache.delete(text);
    } else {
      hashed = pseudonym(text, secret);
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
    }
    cache.set(text, hashed);
    return hashed;
  };
}

type Json = Record<string, unknown>;

function hashMarked(value: unknown, marks: PiiMarks, hash: Pseudonymiser): unknown {
  if (marks.hashed) return value === undefined || value === null || isPseudonym(value) ? value : hash(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const { items } = marks;
    return items === null ? value : mapArray(value, (item) => hashMarked(item, items, hash));
  }
  const record = value as Json;
  let copy: Json | undefined;
  if (marks.otherProperties === null) {
    // Only the named fields can change: look them up rather than walk every key.
    for (const [key, child] of marks.properties) {
      if (!Object.hasOwn(record, key)) continue;
      const before = record[key];
      const after = hashMarked(before, child, hash);
      if (after !== before) copy = setProperty(copy ?? { ...record }, key, after);
    }
    return copy ?? record;
  }
  for (const key of Object.keys(record)) {
    const before = record[key];
    const after = hashMarked(before, marks.properties.get(key) ?? marks.otherProperties, hash);
    if (after !== before) copy = setProperty(copy ?? { ...record }, key, after);
  }
  return copy ?? record;
}

function hashDetected(value: unknown, detector: (text: string) => boolean, hash: Pseudonymiser): unknown {
  if (typeof value === 'string') return detector(value) ? hash(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return mapArray(value, (item) => hashDetected(item, detector, hash));
  const record = value as Json;
  let copy: Json | undefined;
  for (const key of Object.keys(record)) {
    const before = record[key];
    const after = hashDetected(before, detector, hash);
    if (after !== before) copy = setProperty(copy ?? { ...record }, key, after);
  }
  return copy ?? record;
}

/** `items.map(change)`, or `items` itself when nothing changes. */
function mapArray(items: unknown[], change: (item: unknown) => unknown): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const after = change(items[i]);
    if (after !== items[i]) (copy ??= items.slice())[i] = after;
  }
  return copy ?? items;
}
