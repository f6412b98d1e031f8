import { CoalescingProducer } from '../../src/stream/coalescing-producer';
import type { EventStreamProducer, StreamPutOutcome, StreamPutRecord } from '../../src/stream/port';

/** A producer whose calls finish only when the test releases them. */
class GatedProducer implements EventStreamProducer {
  readonly calls: string[][] = [];
  private gates: Array<() => void> = [];
  failCall: number | undefined;

  putRecords(records: StreamPutRecord[]): Promise<StreamPutOutcome[]> {
    const call = this.calls.length;
    this.calls.push(records.map((r) => Buffer.from(r.data).toString()));
    return new Promise((resolve, reject) => {
      this.gates.push(() =>
        call === this.failCall
          ? reject(new Error('boom'))
          : resolve(
              records.map((r) => ({
                ok: true,
                shardId: 's',
                sequenceNumber: Buffer.from(r.data).toString(),
              })),
            ),
      );
    });
  }

  release(): void {
    this.gates.shift()?.();
  }
}

const rec = (id: string): StreamPutRecord => ({ partitionKey: 'k', data: Buffer.from(id) });
const seqs = (outcomes: StreamPutOutcome[]) => outcomes.map((o) => (o.ok ? o.sequenceNumber : o.errorCode));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescingProducer', () => {
  it('sends an idle request at once and groups requests that arrive while a call is in flight', async () => {
    const inner = new GatedProducer();
    const producer = new CoalescingProducer(inner);
    const first = producer.putRecords([rec('a')]);
    const second = producer.putRecords([rec('b'), rec('c')]);
    const third = producer.putRecords([rec('d')]);
    expect(inner.calls).toEqual([['a']]);
    inner.release();
    await tick();
    expect(inner.calls).toEqual([['a'], ['b', 'c', 'd']]);
    inner.release();
    expect(seqs(await first)).toEqual(['a']);
    expect(seqs(await second)).toEqual(['b', 'c']);
    expect(seqs(await third)).toEqual(['d']);
  });

  it('keeps whole requests within the per-call record limit', async () => {
    const inner = new GatedProducer();
    const producer = new CoalescingProducer(inner, { records: 3, bytes: 1024 });
    const all = [
      producer.putRecords([rec('a')]),
      producer.putRecords([rec('b'), rec('c')]),
      producer.putRecords([rec('d'), rec('e')]),
    ];
    inner.release();
    await tick();
    inner.release();
    await tick();
    inner.release();
    await Promise.all(all);
    expect(inner.calls).toEqual([['a'], ['b', 'c'], ['d', 'e']]);
  });

  it('keeps whole requests within the per-call byte limit, counting partition keys', async () => {
    const inner = new GatedProducer();
    // Each record weighs 2 bytes: a 1-byte key and 1 byte of data.
    const producer = new CoalescingProducer(inner, { records: 100, bytes: 5 });
    const all = [
      producer.putRecords([rec('a')]),
      producer.putRecords([rec('b')]),
      producer.putRecords([rec('c')]),
      producer.putRecords([rec('d'), rec('e'), rec('f')]),
    ];
    inner.release();
    await tick();
    inner.release();
    await tick();
    inner.release();
    await Promise.all(all);
    expect(inner.calls).toEqual([['a'], ['b', 'c'], ['d', 'e', 'f']]);
  });

  it('rejects every request of a failed call and goes on with the next', async () => {
    const inner = new GatedProducer();
    inner.failCall = 1;
    const producer = new CoalescingProducer(inner);
    const first = producer.putRecords([rec('a')]);
    const second = producer.putRecords([rec('b')]);
    const third = producer.putRecords([rec('c')]);
    inner.release();
    await tick();
    inner.release();
    await expect(second).rejects.toThrow('boom');
    await expect(third).rejects.toThrow('boom');
    expect(seqs(await first)).toEqual(['a']);
    const fourth = producer.putRecords([rec('d')]);
    await tick();
    inner.release();
    expect(seqs(await fourth)).toEqual(['d']);
  });
});
