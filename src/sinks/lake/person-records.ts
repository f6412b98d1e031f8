/**
 * Which lake records name a person, for erasing them (docs/privacy.md#deletion). An event names
 * the person when its userId or anonymousId is one of the person's ids, or when it is an alias
 * whose `properties.previous_id` is; a failed event when the payload it keeps does, read the same
 * way. Only the gzip NDJSON records are read here; Parquet files are matched in SQL
 * (person-file-eraser.ts) by the same rule.
 */
import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY } from '../../events/identity';

/** The kinds of lake records, each under its own folder (prefix) of the lake. */
export type LakeRecordKind = 'events' | 'failed';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The ids of one person, as an erasure looks for them: exactly as they were sent. */
export class PersonIds {
  private readonly ids: ReadonlySet<string>;
  private readonly needles: readonly Buffer[];

  /**
   * An id that is empty or only blanks names nobody, and found in text it would match every
   * record, so it is left out.
   */
  constructor(ids: readonly string[]) {
    this.ids = new Set(ids.filter((id) => id.trim() !== ''));
    // By their bytes: an ASCII id is the same needle in both encodings.
    const needles = new Map<string, Buffer>();
    const add = (bytes: Buffer) => needles.set(bytes.toString('hex'), bytes);
    for (const id of this.ids) {
      add(Buffer.from(id, 'utf8'));
      // A payload that was not UTF-8 is kept byte for byte, read as Latin-1 (failed-payload.ts);
      // an id written by such a client may be in it as Latin-1 bytes.
      const latin1 = Buffer.from(id, 'latin1');
      if (latin1.toString('latin1') === id) add(latin1);
    }
    this.needles = [...needles.values()];
  }

  get size(): number {
    return this.ids.size;
  }

  list(): string[] {
    return [...this.ids];
  }

  /** Whether a record's field holds one of the ids (a number is compared as its text). */
  holds(value: unknown): boolean {
    if (typeof value === 'string') return this.ids.has(value);
    if (typeof value === 'number' || typeof value === 'bigint') return this.ids.has(String(value));
    return false;
  }

  /** Whether one of the ids occurs anywhere in the bytes. */
  occursIn(bytes: Buffer): boolean {
    return this.needles.some((needle) => bytes.includes(needle));
  }
}

/** Whether an event (a lake event record, or a payload read as one) names the person. */
function eventNames(event: Json, ids: PersonIds, aliasOnly: boolean): boolean {
  if (ids.holds(event.userId) || ids.holds(event.anonymousId)) return true;
  if (aliasOnly && event.event !== ALIAS_EVENT) return false;
  const { properties } = event;
  return isObject(properties) && ids.holds(properties[PREVIOUS_ID_PROPERTY]);
}

/**
 * Whether a failed event's payload names the person. A payload that reads as a JSON object is
 * matched as an event, `previous_id` whatever its event name (the name may be why it failed). One
 * that does not (not JSON, a cut head, bytes that were not UTF-8) cannot say which field is which,
 * so it matches when an id occurs anywhere in it: conservative, it may remove a record that only
 * mentions the id, never keep one that names the person.
 */
function payloadNames(failed: Json, line: string, ids: PersonIds): boolean {
  const { payload } = failed;
  if (typeof payload !== 'string') return ids.occursIn(Buffer.from(line, 'utf8'));
  const bytes = Buffer.from(payload, failed.payloadEncoding === 'base64' ? 'base64' : 'utf8');
  if (failed.payloadEncoding !== 'base64') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return ids.occursIn(bytes);
    }
    if (isObject(parsed)) return eventNames(parsed, ids, false);
  }
  return ids.occursIn(bytes);
}

/**
 * Whether one line of a gzip NDJSON lake file names the person. A line that is not a JSON object
 * (a file damaged by hand, say) is matched as text, conservatively, as an unreadable payload is.
 */
export function lineNamesPerson(kind: LakeRecordKind, line: string, ids: PersonIds): boolean {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return ids.occursIn(Buffer.from(line, 'utf8'));
  }
  if (!isObject(record)) return ids.occursIn(Buffer.from(line, 'utf8'));
  return kind === 'events' ? eventNames(record, ids, true) : payloadNames(record, line, ids);
}

/**
 * The messageId of one lake record (an event's, or a failed event's when it had one), or null: the
 * key of the markers the edge and the hot tier keep for it.
 */
export function messageIdOfLine(line: string): string | null {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(record)) return null;
  const { messageId } = record;
  return typeof messageId === 'string' && messageId !== '' ? messageId : null;
}
