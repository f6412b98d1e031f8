import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from './port';

/** What one call of the inner producer may carry; Kinesis PutRecords by default. */
export interface CallLimits {
  records: number;
  /** Data and partition keys together, as Kinesis counts a request. */
  bytes: number;
}

const PUT_RECORDS_LIMITS: CallLimits = { records: 500, bytes: 5 * 1024 * 1024 };

interface Pending {
  records: StreamPutRecord[];
  bytes: number;
  resolve: (outcomes: StreamPutOutcome[]) => void;
  reject: (error: unknown) => void;
}

const requestBytes = (records: StreamPutRecord[]): number =>
  records.reduce((sum, r) => sum + r.data.byteLength + Buffer.byteLength(r.partitionKey, 'utf8'), 0);

/**
 * Group commit for a producer shared by many concurrent requests: while one call is in flight,
 * later requests queue up and go out together in the next call. No timer: a request finding the
 * producer idle is sent at once, so an idle server adds no latency, and a process serving one
 * request at a time (a Lambda) sends exactly what it would without it. A group holds whole
 * requests and stays within one call's limits, so each request's records go out in one call, in
 * its order, and its outcomes are its own. It pays where each call has a high fixed cost (the
 * local Kinesis emulator serialises calls, and each SDK call signs and sends a request).
 */
export class CoalescingProducer implements EventStreamProducer {
  private readonly queue: Pending[] = [];
  private inFlight = false;

  constructor(
    private readonly inner: EventStreamProducer,
    private readonly limits: CallLimits = PUT_RECORDS_LIMITS,
  ) {}

  /** Queues the records for the next call; outcomes are in input order, as the inner producer gives them. */
  putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, bytes: requestBytes(records), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.nextGroup();
    const records = batch.length === 1 ? (batch[0] as Pending).records : batch.flatMap((p) => p.records);
    this.inner
      .putRecords(records)
      .then(
        (outcomes) => {
          let offset = 0;
          for (const pending of batch) {
            pending.resolve(outcomes.slice(offset, offset + pending.records.length));
            offset += pending.records.length;
          }
        },
        (error: unknown) => batch.forEach((pending) => pending.reject(error)),
      )
      .finally(() => {
        this.inFlight = false;
        this.pump();
      });
  }

  /**
   * The queue's oldest requests that fit one call together. A request over the limits alone goes
   * alone: the inner producer splits it as it would any.
   */
  private nextGroup(): Pending[] {
    const group = [this.queue.shift() as Pending];
    let count = group[0]?.records.length ?? 0;
    let bytes = group[0]?.bytes ?? 0;
    for (let next = this.queue[0]; next !== undefined; next = this.queue[0]) {
      if (count + next.records.length > this.limits.records || bytes + next.bytes > this.limits.bytes) break;
      group.push(this.queue.shift() as Pending);
      count += next.records.length;
      bytes += next.bytes;
    }
    return group;
  }
}
