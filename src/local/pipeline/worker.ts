import path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { createDynamoDbDocumentClient, createKinesisClient } from '../../aws/clients';
import { enricherFromConfig } from '../../events/from-config';
import type { FailedEvent, StoredEvent } from '../../events/types';
import type { LivePublisher } from '../../live/port';
import type { HotActivity } from '../../sinks/hot-tier/port';
import { PROCESSOR_VERSION } from '../../events/version';
import { schemaRegistryFromConfig } from '../../services/schema-files';
import { EventsParquetFormat } from '../../sinks/lake/file-format';
import { LocalLakeDelivery } from '../../sinks/lake/local/local-lake-delivery';
import { KinesisStreamReader } from '../../stream/kinesis/kinesis-stream-reader';
import { DynamoDbSuppressionList } from '../../privacy/dynamodb/dynamodb-suppression-list';
import { CachedSuppressionList } from '../../services/cached-suppression-list';
import { createStreamProcessor } from '../../stream/process-batch';
import { hotStoreFromConfig } from '../../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { FileCheckpointStore } from '../poller/checkpoint-store';
import { LocalPoller } from '../poller/local-poller';
import {
  LakeNotice,
  PendingReplies,
  WakeLatch,
  type FromPipeline,
  type PipelineThreadData,
  type ToPipeline,
} from './protocol';
import { FoldLoop } from './fold-loop';
import { WriteReportingHotStore } from './write-reporting-hot-store';

/**
 * The pipeline thread's body: the local poller playing Lambda's event source mapping, the stream
 * processor, and the lake deliveries playing Firehose, with SDK clients of their own. It answers
 * the API thread's requests on `port` and resolves once the poller runs; a failure to start is
 * thrown, which ends the thread with that error.
 */
export async function runPipelineWorker(port: MessagePort, data: PipelineThreadData): Promise<void> {
  const { config, piiSecret } = data;
  const send = (message: FromPipeline) => port.postMessage(message);
  const wakeLatch = new WakeLatch(data.wakeLatch);
  const lakeNotice = new LakeNotice(data.lakeNotice);
  const kinesis = createKinesisClient(config);
  const dynamoDoc = createDynamoDbDocumentClient(config);

  const lakeOptions = {
    rootDir: path.join(config.dataDir, 'lake'),
    flushBytes: config.lake.flushBytes,
    flushIntervalMs: config.lake.flushIntervalMs,
    // The warehouse loader on the API thread loads when told, rather than listing the lake often.
    onFilesWritten: () => {
      if (lakeNotice.raise()) send({ kind: 'lake-files' });
    },
  };
  const eventsDelivery = new LocalLakeDelivery<StoredEvent>({
    ...lakeOptions,
    prefix: 'events',
    // Parquet, as Firehose's record format conversion writes events in AWS.
    format: new EventsParquetFormat(),
    timeOf: (event) => new Date(event.receivedAt),
  });
  const failedDelivery = new LocalLakeDelivery<FailedEvent>({
    ...lakeOptions,
    prefix: 'failed',
    timeOf: (event) => new Date(event.receivedAt),
  });

  const forgetting = new PendingReplies();
  // Has the API thread's read cache forget what a batch (its profiles and identities) or a fold
  // (items and trends) may have changed, and waits until it has.
  const forget = (message: { kind: 'hot-writes'; activity: HotActivity[] } | { kind: 'hot-folded' }) => {
    const { id, answered } = forgetting.open();
    send({ ...message, id });
    return answered;
  };
  const table = hotStoreFromConfig(dynamoDoc, config);
  const folds = new FoldLoop(table, {
    intervalMs: config.hotFold.intervalMs,
    folded: () => forget({ kind: 'hot-folded' }),
  });
  const hotStore = new WriteReportingHotStore(table, (activity) => {
    folds.applied();
    return forget({ kind: 'hot-writes', activity });
  });
  // The API thread holds the subscribers; it says when it has any, and live events go to it as
  // messages, which never wait for it.
  let liveSubscribers = false;
  const live: LivePublisher = {
    hasSubscribers: () => liveSubscribers,
    publish: (events) => {
      if (liveSubscribers && events.length > 0) send({ kind: 'live-events', events: [...events] });
      return Promise.resolve();
    },
  };
  const poller = new LocalPoller({
    reader: new KinesisStreamReader({ client: kinesis, streamName: config.streamName }),
    handler: createStreamProcessor({
      events: eventsDelivery,
      failed: failedDelivery,
      hotStore,
      processorVersion: PROCESSOR_VERSION,
      schemas: schemaRegistryFromConfig(config),
      enrich: enricherFromConfig(config, piiSecret),
      identity: config.identity,
      // Events of a person being erased are dropped here too: records that reached the stream
      // another way, or were in flight when deleteUser answered.
      suppression: new CachedSuppressionList(
        new DynamoDbSuppressionList({ client: dynamoDoc, tableName: config.tableName }),
        { ttlMs: config.events.suppressionCacheMs },
      ),
      live,
    }),
    checkpoints: new FileCheckpointStore(config.dataDir, config.streamName),
    batchSize: config.poller.batchSize,
    batchWindowMs: config.poller.batchWindowMs,
    idleMs: config.poller.idleMs,
    maxIdleMs: config.poller.maxIdleMs,
    onIdle: (shardId) => wakeLatch.arm(shardId),
  });

  const stop = async () => {
    // The batch in flight finishes and is checkpointed, then the lake buffers are written out;
    // what is left pending is folded at the next start.
    await poller.stop();
    await folds.stop();
    await eventsDelivery.close();
    await failedDelivery.close();
    kinesis.destroy();
    dynamoDoc.destroy();
  };
  const answer = (id: number, work: Promise<void>) =>
    work.then(
      () => send({ kind: 'done', id }),
      (error: unknown) =>
        send({
          kind: 'failed',
          id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  port.on('message', (message: ToPipeline) => {
    switch (message.kind) {
      case 'wake':
        return poller.wake();
      case 'drain':
        // Drained means processed, items and trends included.
        return void answer(
          message.id,
          poller.drain(message.timeoutMs).then(() => folds.foldAll()),
        );
      case 'stop':
        return void answer(message.id, stop());
      case 'forgotten':
        return forgetting.resolve(message.id);
      case 'live-subscribers':
        liveSubscribers = message.active;
        return;
    }
  });

  await poller.start();
  folds.start();
  send({ kind: 'started' });
}
