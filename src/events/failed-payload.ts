/**
 * How much of a record a failed event keeps. A record that could be read keeps its (scrubbed)
 * payload whole, for replay: at most MAX_EVENT_BYTES. A record that could not be read (not UTF-8,
 * not a JSON object, or over MAX_EVENT_BYTES) cannot be replayed or scrubbed of personal data, so
 * it keeps only its first FAILED_PAYLOAD_HEAD_BYTES, with its size and SHA-256 to tell it apart.
 * Either way a stored payload stays far below 65,535 bytes, the most Redshift loads into a SUPER
 * string: one longer payload would make its whole lake file unloadable.
 */
import { createHash } from 'node:crypto';
import { MAX_EVENT_BYTES } from './envelope';
import type { EventError, FailedEvent } from './types';

/** The bytes of an unreadable record a failed event keeps. */
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
 * What a failed event keeps of an unreadable record: the record whole when it is short, else its
 * first FAILED_PAYLOAD_HEAD_BYTES (whole characters, for text) and a note with its size and digest.
 * `encoding` is how the bytes are stored: as text when they are UTF-8, else as base64.
 */
export function payloadHead(record: Buffer, encoding: 'utf8' | 'base64'): KeptPayload {
  if (record.byteLength <= FAILED_PAYLOAD_HEAD_BYTES) {
    return { payload: record.toString(encoding), payloadEncoding: encoding, truncation: null };
  }
  const end =
    encoding === 'utf8' ? characterBoundary(record, FAILED_PAYLOAD_HEAD_BYTES) : FAILED_PAYLOAD_HEAD_BYTES;
  const sha256 = createHash('sha256').update(record).digest('hex');
  return {
    payload: record.subarray(0, end).toString(encoding),
    payloadEncoding: encoding,
    truncation: {
      code: PAYLOAD_TRUNCATED,
      path: null,
      message: `payload is the first ${end} of the record's ${record.byteLength} bytes (SHA-256 ${sha256})`,
    },
  };
}

/**
 * What a failed event keeps of a record it read: the text whole, unless rewriting it (to scrub
 * personal data) made it longer than MAX_EVENT_BYTES, which is then cut as an unreadable record is.
 */
export function readablePayload(text: string): KeptPayload {
  if (Buffer.byteLength(text, 'utf8') <= MAX_EVENT_BYTES) {
    return { payload: text, payloadEncoding: 'utf8', truncation: null };
  }
  return payloadHead(Buffer.from(text, 'utf8'), 'utf8');
}
