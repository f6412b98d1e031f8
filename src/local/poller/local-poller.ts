import { setTimeout as delay } from 'node:timers/promises';
import type { KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { ExpiredIteratorError, KinesisError, PollerTimeoutError } from '../../stream/kinesis/kinesis-errors';
import type { ShardPosition, ShardRecord, StreamReader } from '../../stream/port';
import type { CheckpointStore } from './checkpoint-store';

export interface PollerLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Time as the poller sees it: its pauses, batching windows and drain deadline; tests inject their own. */
export interface PollerClock {
  now(): number;
  /** Resolves after `ms`; ends early (rejecting, as timers do) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const systemClock: PollerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }),
};

export type KinesisBatchHandler = (
  event: KinesisStreamEvent,
) => Promise<KinesisStreamBatchResponse | undefined | void>;

export interface LocalPollerOptions {
  reader: StreamReader;
  /** The eventSourceARN put on records; read from the stream when omitted. */
  streamArn?: string;
  handler: KinesisBatchHandler;
  checkpoints: CheckpointStore;
  /** At most this many records per handler call (Lambda's BatchSize). */
  batchSize: number;
  /** Once a batch has a record, how long to wait for more (Lambda's MaximumBatchingWindowInSeconds). */
  batchWindowMs: number;
  /** Pause between reads of a shard that has nothing new. */
  idleMs: number;
  /**
   * Cap of that pause while the shard stays idle: each empty read at the tip doubles it, from
   * idleMs up to this (Lambda reads an idle shard about once a second); a record resets it, and
   * wake() ends it. Every read costs the process an SDK call, so an idle stack mostly sleeps.
   * Defaults to idleMs (no backoff).
   */
  maxIdleMs?: number;
  /**
   * Called as a shard is about to sleep until woken (after an empty read at the tip), so whoever
   * calls wake() can skip it while no shard sleeps. Answering false means records were put since
   * the shard last asked, perhaps during the read that came back empty: it reads again at once.
   */
  onIdle?: (shardId: string) => boolean;
  /** Cap of the exponential backoff between retries of a failed batch. */
  maxRetryDelayMs?: number;
  retryBaseDelayMs?: number;
  /** How often to look for new shards after a resharding. */
  shardDiscoveryMs?: number;
  invokeIdentityArn?: string;
  logger?: PollerLogger;
  clock?: PollerClock;
}

type Position = ShardPosition;

interface ShardState {
  shardId: string;
  parents: string[];
  running?: Promise<void>;
  finished: boolean;
  /** The read tick of the latest empty read at the tip of the shard. */
  caughtUpTick: number;
}

interface ShardCursor {
  position: Position;
  iterator?: string;
  retries: number;
}

const after = (sequenceNumber: string): Position => ({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber });

function compareSequence(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Plays Lambda's Kinesis event source mapping against kinesalite: one loop per shard, batches
 * shaped like Lambda's, checkpoints after success, and ReportBatchItemFailures semantics
 * (resume at the lowest failed sequence number). Parents are finished before their children.
 */
export class LocalPoller {
  private readonly options: LocalPollerOptions;
  private readonly reader: StreamReader;
  private readonly logger: PollerLogger;
  private readonly clock: PollerClock;
  private readonly shards = new Map<string, ShardState>();
  private readonly abort = new AbortController();
  private readonly idleSleepers = new Set<AbortController>();
  private stopping = false;
  private started = false;
  private tick = 0;
  private eventSourceARN = '';
  private awsRegion = '';
  private discoveryLoop?: Promise<void>;
  /** Stream calls made outside the shard loops (describe, list shards); stop() lets them end first. */
  private readonly calls = new Set<Promise<unknown>>();

  constructor(options: LocalPollerOptions) {
    if (options.batchSize < 1) throw new RangeError('batchSize must be at least 1');
    this.options = options;
    this.reader = options.reader;
    this.logger = options.logger ?? console;
    this.clock = options.clock ?? systemClock;
  }

  /** Starts polling every shard; resolves once the shards are discovered and their loops running. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      const stream = await this.track(this.reader.describe());
      this.awsRegion = stream.region;
      this.eventSourceARN = this.options.streamArn ?? stream.streamArn;
      await this.discover();
    } catch (err) {
      // Stopped meanwhile: the stream may be gone by now (a stack closes its emulator right after),
      // and a start nobody wants any more is not a failure to report.
      if (this.stopping) return;
      throw err;
    }
    if (!this.stopping) this.discoveryLoop = this.runDiscovery();
  }

  /** Stops polling; resolves after the in-flight batches finished and their checkpoints are persisted. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    // No new call begins once stopping, so the ones in flight (a start or a drain describing or
    // listing the stream) are all there is to wait for; their failures belong to their callers.
    await Promise.allSettled([...this.calls]);
    await this.discoveryLoop;
    await Promise.all([...this.shards.values()].map((shard) => shard.running));
  }

  /**
   * Resolves when every shard has processed everything that was on the stream when called
   * (an empty read at the tip, begun after the call). Meant for tests and shutdown.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (!this.started || this.stopping) throw new Error('drain() needs a running poller');
    await this.discover();
    const since = this.tick;
    this.wake();
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      const lagging = [...this.shards.values()].filter((s) => !s.finished && s.caughtUpTick <= since);
      if (lagging.length === 0) return;
      if (this.clock.now() > deadline) {
        throw new PollerTimeoutError(
          `shards ${lagging.map((s) => s.shardId).join(', ')} did not catch up within ${timeoutMs} ms`,
        );
      }
      await this.clock.sleep(5);
    }
  }

  /**
   * Ends the idle pauses of every shard, so that each reads now: after records were put (the
   * local stack's ingest calls it), and when drain() starts.
   */
  wake(): void {
    for (const sleeper of this.idleSleepers) sleeper.abort();
    this.idleSleepers.clear();
  }

  /** Sleeps `ms` unless stopped first; a `wakeable` sleep (an idle shard's) also ends on wake(). */
  private async pause(ms: number, wakeable = false): Promise<void> {
    if (ms <= 0 || this.stopping) return;
    const sleeper = wakeable ? new AbortController() : undefined;
    if (sleeper) this.idleSleepers.add(sleeper);
    try {
      await this.clock.sleep(
        ms,
        sleeper ? AbortSignal.any([this.abort.signal, sleeper.signal]) : this.abort.signal,
      );
    } catch {
      // Stopped, or woken.
    } finally {
      if (sleeper) this.idleSleepers.delete(sleeper);
    }
  }

  private async runDiscovery(): Promise<void> {
    const every = this.options.shardDiscoveryMs ?? 1000;
    while (!this.stopping) {
      await this.pause(every);
      if (this.stopping) return;
      try {
        await this.discover();
      } catch (err) {
        this.logger.warn('shard discovery failed', { error: String(err) });
      }
    }
  }

  /** Keeps a stream call in `calls` until it settles. */
  private track<T>(call: Promise<T>): Promise<T> {
    this.calls.add(call);
    const settled = () => this.calls.delete(call);
    call.then(settled, settled);
    return call;
  }

  private async discover(): Promise<void> {
    if (this.stopping) return;
    for (const { shardId, parentShardIds } of await this.track(this.reader.listShards())) {
      if (this.shards.has(shardId)) continue;
      this.shards.set(shardId, { shardId, parents: parentShardIds, finished: false, caughtUpTick: 0 });
    }
    this.launchReady();
  }

  /** Starts loops for shards whose parents are done; a parent trimmed from the stream counts as done. */
  private launchReady(): void {
    if (this.stopping) return;
    for (const shard of this.shards.values()) {
      if (shard.running || shard.finished) continue;
      const ready = shard.parents.every((id) => this.shards.get(id)?.finished ?? true);
      if (ready) shard.running = this.runShard(shard);
    }
  }

  private backoff(retries: number): number {
    const base = this.options.retryBaseDelayMs ?? 100;
    return Math.min(this.options.maxRetryDelayMs ?? 5000, base * 2 ** (retries - 1));
  }

  private async runShard(shard: ShardState): Promise<void> {
    let cursor: ShardCursor | undefined;
    while (!this.stopping) {
      try {
        if (!cursor) {
          const checkpoint = await this.options.checkpoints.get(shard.shardId);
          cursor = { position: checkpoint ? after(checkpoint) : { type: 'TRIM_HORIZON' }, retries: 0 };
        }
        const closed = await this.pollShard(shard, cursor);
        if (closed) {
          shard.finished = true;
          this.logger.info('shard finished', { shardId: shard.shardId });
          this.launchReady();
          return;
        }
      } catch (err) {
        // Unprocessed reads are dropped and re-read from the last checkpointed position.
        if (cursor) {
          cursor.iterator = undefined;
          cursor.retries++;
        }
        this.logger.error('shard poll failed', { shardId: shard.shardId, error: String(err) });
        await this.pause(this.backoff(cursor?.retries ?? 1));
      }
    }
  }

  private iterator(shardId: string, position: Position): Promise<string> {
    return this.reader.shardIterator(shardId, position);
  }

  /** Reads and processes batches until stopped; returns true once a closed shard is fully processed. */
  private async pollShard(shard: ShardState, cursor: ShardCursor): Promise<boolean> {
    const { batchSize, batchWindowMs, idleMs } = this.options;
    const maxIdleMs = Math.max(idleMs, this.options.maxIdleMs ?? idleMs);
    let idlePauseMs = idleMs;
    while (!this.stopping) {
      const batch: ShardRecord[] = [];
      let closed = false;
      let windowEnds: number | undefined;
      while (!this.stopping) {
        cursor.iterator ??= await this.iterator(shard.shardId, cursor.position);
        const readTick = ++this.tick;
        const limit = batchSize - batch.length;
        let response;
        try {
          response = await this.reader.getRecords(cursor.iterator, limit);
        } catch (err) {
          if (err instanceof ExpiredIteratorError) {
            const last = batch.at(-1)?.sequenceNumber;
            cursor.iterator = await this.iterator(shard.shardId, last ? after(last) : cursor.position);
            continue;
          }
          if (err instanceof KinesisError && err.retryable) {
            await this.pause(idleMs);
            continue;
          }
          throw err;
        }
        const { records } = response;
        batch.push(...records);
        cursor.iterator = response.nextIterator;
        if (!cursor.iterator) {
          closed = true;
          break;
        }
        if (batch.length >= batchSize) break;
        const atTip = records.length < limit && response.millisBehindLatest === 0;
        if (batch.length === 0) {
          if (atTip) {
            shard.caughtUpTick = readTick;
            if (this.options.onIdle?.(shard.shardId) === false) continue;
            await this.pause(idlePauseMs, true);
            idlePauseMs = Math.min(maxIdleMs, idlePauseMs * 2);
          } else await this.pause(idleMs);
          continue;
        }
        idlePauseMs = idleMs;
        windowEnds ??= this.clock.now() + batchWindowMs;
        const remaining = windowEnds - this.clock.now();
        if (remaining <= 0) break;
        if (atTip) await this.pause(Math.min(idleMs, remaining));
      }
      // Records gathered but not handed over when stopping are simply read again next time.
      if (this.stopping) return false;
      if (batch.length > 0) await this.process(shard, cursor, batch);
      else if (closed) return true;
    }
    return false;
  }

  private async process(shard: ShardState, cursor: ShardCursor, batch: ShardRecord[]): Promise<void> {
    const failedAt = await this.invoke(shard, batch);
    if (failedAt === undefined) {
      const last = batch.at(-1)?.sequenceNumber;
      if (last) {
        await this.options.checkpoints.set(shard.shardId, last);
        cursor.position = after(last);
      }
      cursor.retries = 0;
      return;
    }
    const index = batch.findIndex((r) => r.sequenceNumber === failedAt);
    const done = index > 0 ? batch[index - 1]?.sequenceNumber : undefined;
    if (done) await this.options.checkpoints.set(shard.shardId, done);
    cursor.position = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: failedAt };
    cursor.iterator = undefined;
    cursor.retries++;
    const wait = this.backoff(cursor.retries);
    this.logger.warn('batch failed, retrying', {
      shardId: shard.shardId,
      sequenceNumber: failedAt,
      retryInMs: wait,
    });
    await this.pause(wait);
  }

  /** Calls the handler; returns the sequence number to retry from, or undefined when the batch succeeded. */
  private async invoke(shard: ShardState, batch: ShardRecord[]): Promise<string | undefined> {
    const first = batch[0]?.sequenceNumber ?? '';
    let response: KinesisStreamBatchResponse | undefined | void;
    try {
      response = await this.options.handler({
        Records: batch.map((r) => this.toLambdaRecord(shard.shardId, r)),
      });
    } catch (err) {
      this.logger.error('handler failed', { shardId: shard.shardId, error: String(err) });
      return first;
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) return undefined;
    const inBatch = new Set(batch.map((r) => r.sequenceNumber));
    // Lambda treats an identifier it cannot place in the batch as a failure of the whole batch.
    if (!failures.every((f) => typeof f.itemIdentifier === 'string' && inBatch.has(f.itemIdentifier)))
      return first;
    return failures.map((f) => f.itemIdentifier).sort(compareSequence)[0];
  }

  private toLambdaRecord(shardId: string, record: ShardRecord): KinesisStreamRecord {
    const { sequenceNumber } = record;
    return {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: record.partitionKey,
        sequenceNumber,
        data: Buffer.from(record.data).toString('base64'),
        approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime() / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn:
        this.options.invokeIdentityArn ?? 'arn:aws:iam::000000000000:role/tributary-local-stream',
      awsRegion: this.awsRegion,
      eventSourceARN: this.eventSourceARN,
    };
  }
}
