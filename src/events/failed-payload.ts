/**
 * How much of a record a failed event keeps, always scrubbed of personal data (scrub-payload.ts). A
 * record that could be read keeps its scrubbed payload whole, for replay: at most MAX_EVENT_BYTES. A
 * record that could not be read as an event (not UTF-8, not a JSON object, or nested too deep to
 * walk) is scrubbed as text; it, and any record over MAX_EVENT_BYTES, keeps only the first
 * FAILED_PAYLOAD_HEAD_BYTES of its scrubbed form, with the size and SHA-256 of the record as it came
 * to tell it apart. Either way a stored payload stays far below 65,535 bytes, the most Redshift loads
 * into a SUPER string: one longer payload would make its whole lake file unloadable.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { MAX_EVENT_BYTES } from './envelope';
import type { EventError, FailedEvent } from './types';

/** The bytes of a cut payload a failed event keeps. */
export const FAILED_PAYLOAD_HEAD_BYTES = 4 * 1024;

/** The code of the `errors` entry saying that a failed event's payload is the start of its record. */
export const PAYLOAD_TRUNCATED = 'PAYLOAD_TRUNCATED';

export type KeptPayload = Pick<FailedEvent, 'payload' | 'payloadEncoding'> & {
  /** The PAYLOAD_TRUNCATED entry for the failed event's errors, when the payload was cut. */
  truncation: EventError | null;
};

/** The end of the longest run of whole UTF-8 characters within `limit` bytes of `bytes`. */
function characterBoundary(bytes: Buffer, limit: number): number {
  let end = limit;
  // A continuation byte (10xxxxxx) right after the cut means a character straddles it.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return end;
}

/**
 * What a failed event keeps of a record it could not read as an event: the record scrubbed as
 * text by `scrubText`, whole when that fits in FAILED_PAYLOAD_HEAD_BYTES, else its head. UTF-8 is
 * stored as text; other bytes are scrubbed as Latin-1 (one character per byte, so every byte
 * survives) and stored as base64.
 */
export function unreadablePayload(record: Buffer, scrubText: (text: string) => string): KeptPayload {
  const text = isUtf8(record);
  const view = text ? 'utf8' : 'latin1';
  const scrubbed = Buffer.from(scrubText(record.toString(view)), view);
  return headOf(scrubbed, text ? 'utf8' : 'base64', record, FAILED_PAYLOAD_HEAD_BYTES);
}

/**
 * What a failed event keeps of a record it read, given its scrubbed JSON: the text whole, unless it
 * is longer than MAX_EVENT_BYTES (the record was oversize, or scrubbing made it longer), then its
 * head as for an unreadable record.
 */
export function readablePayload(scrubbedJson: string, record: Buffer): KeptPayload {
  return headOf(Buffer.from(scrubbedJson, 'utf8'), 'utf8', record, MAX_EVENT_BYTES);
}

function headOf(
  scrubbed: Buffer,
  encoding: 'utf8' | 'base64',
  record: Buffer,
  keptWhole: number,
): KeptPayload {
  if (scrubbed.byteLength <= keptWhole) {
    return { payload: scrubbed.toString(encoding), payloadEncoding: encoding, truncation: null };
  }
  const end =
    encoding === 'utf8' ? characterBoundary(scrubbed, FAILED_PAYLOAD_HEAD_BYTES) : FAILED_PAYLOAD_HEAD_BYTES;
  const sha256 = createHash('sha256').update(record).digest('hex');
  return {
    payload: scrubbed.subarray(0, end).toString(encoding),
    payloadEncoding: encoding,
    truncation: {
      code: PAYLOAD_TRUNCATED,
      path: null,
      message: `payload is the first ${end} bytes of the record, personal data scrubbed; the record has ${record.byteLength} bytes (SHA-256 ${sha256})`,
    },
  };
}
