/** Firehose bills ingestion, and format conversion, per record rounded up to this size. */
export const FIREHOSE_BILLING_INCREMENT_BYTES = 5 * 1024;

/**
 * The size packed records are filled up to: twelve billing increments (60 KiB). Consecutive
 * newline-terminated JSON documents share a record, which Firehose accepts both for plain S3
 * delivery (the objects hold the same lines as with one document a record) and for format
 * conversion (concatenated documents, no array). Bigger records waste less: a record is billed
 * rounded up to 5 KiB, so a ~1 KB event alone pays five times its size, while sixty sharing a
 * record lose less than one increment between them. Smaller records risk less: a record Firehose
 * rejects is retried whole, and one that fails conversion goes to the errors prefix with all its
 * documents, so about sixty events share the fate of one bad neighbour rather than a thousand (a
 * record may hold 1,000 KiB). Calls stay within their limits (4 MiB, 500 records) by chunking.
 */
export const PACKED_RECORD_BYTES = 12 * FIREHOSE_BILLING_INCREMENT_BYTES;

/** One encoded input record: its index in the deliver call and its newline-terminated document. */
export interface Document {
  readonly index: number;
  readonly data: Uint8Array;
}

/** A Firehose record: the documents of `indices`, in order, concatenated. */
export interface PackedRecord {
  readonly indices: readonly number[];
  readonly data: Uint8Array;
}

/**
 * Packs consecutive documents into records of at most `maxBytes`, keeping their order; a document
 * larger than that travels alone (the caller has already refused any over Firehose's record limit).
 */
export function packDocuments(
  documents: readonly Document[],
  maxBytes = PACKED_RECORD_BYTES,
): PackedRecord[] {
  const records: PackedRecord[] = [];
  let current: Document[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    records.push({
      indices: current.map((d) => d.index),
      data: Buffer.concat(
        current.map((d) => d.data),
        bytes,
      ),
    });
    current = [];
    bytes = 0;
  };
  for (const document of documents) {
    if (bytes + document.data.byteLength > maxBytes) flush();
    current.push(document);
    bytes += document.data.byteLength;
  }
  flush();
  return records;
}
