import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from './port';

interface Pending {
  records: StreamPutRecord[];
  resolve: (outcomes: StreamPutOutcome[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for a producer shared by many concurrent requests: while one PutRecords call is in
 * flight, later requests queue up and go out together in the next call. An idle producer adds
 * no delay. It pays where each call has a high fixed cost (the local Kinesis emulator serialises
 * calls); a Lambda serves one request at a time and does not need it.
 */
export class CoalescingProducer implements EventStreamProducer {
  private readonly queue: Pending[] = [];
  private inFlight = false;

  constructor(
    private readonly inner: EventStreamProducer,
    private readonly maxRecordsPerCall = 500,
  ) {}

  /** Queues the records for the next call; outcomes are in input order, as the inner producer gives them. */
  putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]> {
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch: Pending[] = [];
    let count = 0;
    // Whole requests only, so one request's outcomes come from one call.
    while (
      this.queue.length > 0 &&
      (batch.length === 0 || count + (this.queue[0]?.records.length ?? 0) <= this.maxRecordsPerCall)
    ) {
      const next = this.queue.shift() as Pending;
      batch.push(next);
      count += next.records.length;
    }
    this.inner
      .putRecords(batch.flatMap((pending) => pending.records))
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
}
