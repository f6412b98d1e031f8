import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** Segment's limits: a request of at most 500 KiB, an event of at most 32 KiB. */
export const MAX_SEGMENT_REQUEST_BYTES = 500 * 1024;
export const MAX_SEGMENT_EVENT_BYTES = 32 * 1024;

/** A body this API refuses, with the HTTP status that says why. */
export class SegmentBodyError extends Error {
  constructor(
    readonly status: 400 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'SegmentBodyError';
  }
}

/**
 * The JSON a request body holds, whatever its content type: browsers send text/plain to avoid a
 * preflight. A gzip body is unpacked up to the request limit, so a small bomb cannot grow past it.
 */
export async function parseSegmentBody(
  raw: Buffer,
  contentEncoding: string | undefined,
  maxBytes: number,
): Promise<unknown> {
  if (raw.length > maxBytes) throw tooLarge(maxBytes);
  let bytes = raw;
  if (contentEncoding !== undefined && /^\s*(x-)?gzip\s*$/i.test(contentEncoding)) {
    try {
      bytes = await gunzipAsync(raw, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
      throw new SegmentBodyError(400, 'the body is not valid gzip');
    }
  } else if (contentEncoding !== undefined && !/^\s*(identity)?\s*$/i.test(contentEncoding)) {
    throw new SegmentBodyError(400, `Content-Encoding ${contentEncoding} is not supported; use gzip`);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    throw new SegmentBodyError(400, 'the body is not valid JSON');
  }
}

const tooLarge = (maxBytes: number) =>
  new SegmentBodyError(413, `the request is larger than ${maxBytes / 1024} KiB`);
