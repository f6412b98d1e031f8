import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PendingRead, StoredPending } from '../../../realtime/hot-batch';
import type { PendingChanges } from '../../../realtime/pending-changes';
import type { ItemTouch, PairDelta } from '../../../realtime/profile';
import { batchDelete, batchPut, queryPartition, type RetryPolicy, type StoredItem } from './dynamodb-batch';
import {
  PARTITION_KEY,
  PENDING_PARTITION,
  SORT_KEY,
  parsePendingPartKey,
  pendingPartKey,
  type HotKey,
} from './hot-store-keys';

/**
 * Bytes of compressed changes per stored part: well under DynamoDB's 400 KB item, so a batch of any
 * size appends in parts. A part is billed 1 write unit per KB like any item.
 */
export const PENDING_PART_BYTES = 300_000;

/** The parts an entry is stored in, which a fold removes together. */
export type PendingHandle = HotKey[];

/**
 * The compact form of an entry's changes: positions and ids repeat, and gzip takes most of them
 * out (a sequence number is padded to 129 digits). `t`: touches as [sequence, itemId, event,
 * weightDelta, receivedAt]; `p`: pairs as [sequence, itemId, otherId, co].
 */
interface EncodedChanges {
  t: Array<[string, string, string, number, string]>;
  p: Array<[string, string, string, number]>;
}

function encode(entry: PendingChanges): Buffer {
  const body: EncodedChanges = {
    t: entry.touches.map((t) => [t.sequence, t.itemId, t.event, t.weightDelta, t.receivedAt]),
    p: entry.pairs.map((p) => [p.sequence, p.itemId, p.otherId, p.co]),
  };
  return gzipSync(JSON.stringify(body));
}

function decode(shardId: string, sequence: string, bytes: Buffer): PendingChanges {
  // Only this adapter writes these items, in exactly this shape.
  const body = JSON.parse(gunzipSync(bytes).toString('utf8')) as EncodedChanges;
  const touches: ItemTouch[] = body.t.map(([seq, itemId, event, weightDelta, receivedAt]) => ({
    itemId,
    event,
    weightDelta,
    receivedAt,
    shardId,
    sequence: seq,
  }));
  const pairs: PairDelta[] = body.p.map(([seq, itemId, otherId, co]) => ({
    itemId,
    otherId,
    co,
    shardId,
    sequence: seq,
  }));
  return { shardId, sequence, touches, pairs };
}

/**
 * The hot tier's pending log on DynamoDB: one partition (`PENDING`), sorted by shard and sequence,
 * so a Query reads it oldest first per shard. An entry is named by its first position and a digest
 * of its content: appending it again (a retried batch) writes the same items, and an entry with
 * other content at the same position (a retry after some profiles were written) sits beside it
 * for the fold to take each change once. Its compressed changes are split into parts that each
 * carry the part count, so a fold never takes an entry a crash left half-appended.
 */
export class DynamoDbPendingLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retry: RetryPolicy,
    private readonly partBytes = PENDING_PART_BYTES,
  ) {}

  async append(entries: readonly PendingChanges[]): Promise<void> {
    const items: StoredItem[] = [];
    for (const entry of entries) {
      const bytes = encode(entry);
      const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
      const count = Math.max(1, Math.ceil(bytes.length / this.partBytes));
      for (let part = 0; part < count; part++) {
        items.push({
          ...pendingPartKey(entry.shardId, entry.sequence, digest, part),
          parts: count,
          d: bytes.subarray(part * this.partBytes, (part + 1) * this.partBytes),
        });
      }
    }
    await batchPut(this.client, this.tableName, items, this.retry);
  }

  /**
   * The oldest whole entries, in strongly consistent Query pages, until about `budgetBytes` of
   * compressed changes are read (always at least one entry). An entry with parts missing (its
   * batch crashed while appending, and its retry will append it whole) is left for a later fold.
   */
  async read(budgetBytes: number): Promise<PendingRead<PendingHandle>> {
    const entries: Array<StoredPending<PendingHandle>> = [];
    let bytes = 0;
    let open: StoredItem[] = [];
    const close = (): void => {
      const first = open[0];
      if (first === undefined || open.length !== Number(first.parts)) return;
      const data = Buffer.concat(open.map((part) => Buffer.from(part.d as Uint8Array)));
      bytes += data.length;
      const handle = open.map((part) => ({ pk: String(part[PARTITION_KEY]), sk: String(part[SORT_KEY]) }));
      const { shardId, sequence } = parsePendingPartKey(String(first[SORT_KEY]));
      entries.push({ ...decode(shardId, sequence, data), handle });
    };
    for await (const page of queryPartition(this.client, this.tableName, PENDING_PARTITION, this.retry, {
      operation: 'read pending',
    })) {
      for (const item of page) {
        if (open.length > 0 && entryOf(item) !== entryOf(open[0] as StoredItem)) {
          close();
          open = [];
          if (bytes >= budgetBytes) return { entries, more: true };
        }
        open.push(item);
      }
    }
    close();
    return { entries, more: false };
  }

  async remove(entries: ReadonlyArray<StoredPending<PendingHandle>>): Promise<void> {
    await batchDelete(
      this.client,
      this.tableName,
      entries.flatMap((entry) => entry.handle),
      this.retry,
    );
  }
}

/** The entry a part belongs to. */
function entryOf(item: StoredItem): string {
  return parsePendingPartKey(String(item[SORT_KEY])).entry;
}
