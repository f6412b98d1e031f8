import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { ByteBoundedCache } from '../api/byte-bounded-cache';
import { hotResponseCachePlugin, type AnswerCache } from '../api/hot-response-cache';
import type { Config } from '../config';
import type { StoredEvent, FailedEvent } from '../events/types';
import type { EventStreamProducer } from '../stream/port';
import { PROCESSOR_VERSION } from '../events/version';
import { enricherFromConfig } from '../events/from-config';
import { schemaRegistryFromConfig } from '../services/schema-files';
import { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import { createServices } from '../services/create-services';
import { createDynamoDbDocumentClient, createKinesisClient } from '../aws/clients';
import { DuckDbWarehouse } from '../sinks/warehouse/duckdb/duckdb-warehouse';
import { DynamoDbHotStore, ensureHotTable } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { CoalescingProducer } from '../stream/coalescing-producer';
import { KinesisProducer } from '../stream/kinesis/kinesis-producer';
import { KinesisStreamReader } from '../stream/kinesis/kinesis-stream-reader';
import { EventsParquetFormat } from '../sinks/lake/file-format';
import { LocalLakeDelivery } from '../sinks/lake/local/local-lake-delivery';
import {
  persistedApiKey,
  persistedPiiSecret,
  persistedUserTokenSecret,
  persistedWriteKey,
} from './secret-files';
import { FileCheckpointStore } from './poller/checkpoint-store';
import { LocalPoller } from './poller/local-poller';
import { createStreamProcessor } from '../stream/process-batch';
import { ensureStream, startEmulators } from './emulators';
import { startHttpServer } from './http-server';
import { SegmentApi } from '../api/segment/segment-api';
import { loadSegmentEventNames } from '../services/segment-event-names';
import { WarehouseLoadLoop } from './warehouse-load-loop';

export interface LocalStack {
  url: string;
  graphqlUrl: string;
  playgroundUrl: string;
  /** The bootstrap SECRET key (every scope). */
  apiKey: string;
  /** The bootstrap WRITE key (INGEST and PUBLIC_READ), the one browsers get. */
  writeKey: string;
  kinesisEndpoint: string;
  dynamodbEndpoint: string;
  warehouse: DuckDbWarehouse;
  poller: LocalPoller;
  /** How full the answer cache is (bounded by TRIBUTARY_ANSWER_CACHE_BYTES). */
  answerCache: Pick<AnswerCache, 'bytes' | 'size' | 'maxBytes'>;
  /** Waits until everything on the stream now has been processed and loaded into the warehouse. */
  settle(): Promise<void>;
  /** Flushes buffers, checkpoints, and stops every part in order. */
  close(): Promise<void>;
}

/**
 * The embedded stack: kinesalite and dynalite in-process, the local poller playing Lambda, the
 * lake folder playing Firehose and S3, DuckDB playing Redshift, and the GraphQL server.
 */
export async function startLocalStack(config: Config): Promise<LocalStack> {
  await mkdir(config.dataDir, { recursive: true });
  const apiKey = config.apiKey ?? (await persistedApiKey(config.dataDir));
  const writeKey = config.writeKey ?? (await persistedWriteKey(config.dataDir));
  if (writeKey === apiKey) throw new Error('the write key must differ from the API key');
  const bootstrapKeys = {
    secretKey: apiKey,
    writeKey,
    userTokenSecret: config.userTokenSecret ?? (await persistedUserTokenSecret(config.dataDir)),
  };
  const piiSecret = config.events.piiSecret ?? (await persistedPiiSecret(config.dataDir));
  const schemas = schemaRegistryFromConfig(config);

  const emulators = await startEmulators({
    dataDir: config.dataDir,
    kinesisPort: config.kinesisPort,
    dynamodbPort: config.dynamodbPort,
    host: config.host,
  });
  const aws = {
    ...config.aws,
    kinesisEndpoint: emulators.kinesisEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
  };
  const kinesis = createKinesisClient({ aws });
  const dynamoDoc = createDynamoDbDocumentClient({ aws });
  await ensureStream(kinesis, config.streamName, config.localShards);
  await ensureHotTable(dynamoDoc, config.tableName);

  const lakeDir = path.join(config.dataDir, 'lake');
  const lakeOptions = {
    rootDir: lakeDir,
    flushBytes: config.lake.flushBytes,
    flushIntervalMs: config.lake.flushIntervalMs,
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
  const warehouse = await DuckDbWarehouse.open({
    databasePath: path.join(config.dataDir, 'warehouse.duckdb'),
    lakeDir,
  });
  // The stream processor below is the table's only writer and writes through this cache, which
  // forgets what each batch changed: reads are never stale, so entries need no expiry.
  const hotCache = {
    ...config.hotCache,
    ttlMs: config.hotCache.ttlMs > 0 ? Number.POSITIVE_INFINITY : 0,
  };
  const hotStore = new CachedHotStore(
    new DynamoDbHotStore({ client: dynamoDoc, tableName: config.tableName, profileLimits: config.hotLimits }),
    hotCache,
  );

  const processor = createStreamProcessor({
    events: eventsDelivery,
    failed: failedDelivery,
    hotStore,
    processorVersion: PROCESSOR_VERSION,
    schemas,
    enrich: enricherFromConfig(config, piiSecret),
  });
  const poller = new LocalPoller({
    reader: new KinesisStreamReader({ client: kinesis, streamName: config.streamName }),
    handler: processor,
    checkpoints: new FileCheckpointStore(config.dataDir, config.streamName),
    batchSize: config.poller.batchSize,
    batchWindowMs: config.poller.batchWindowMs,
    idleMs: config.poller.idleMs,
    maxIdleMs: config.poller.maxIdleMs,
  });
  const loader = new WarehouseLoadLoop(warehouse, config.loader.intervalMs);

  // kinesalite serialises calls, so concurrent requests share one PutRecords call.
  const coalescing = new CoalescingProducer(
    new KinesisProducer({ client: kinesis, streamName: config.streamName }),
  );
  // An idle shard is read about once a second; records put through the API are read at once.
  const producer: EventStreamProducer = {
    putRecords: async (records) => {
      const outcomes = await coalescing.putRecords(records);
      poller.wake();
      return outcomes;
    },
  };
  const services = createServices({
    config,
    bootstrapKeys: () => Promise.resolve(bootstrapKeys),
    producer,
    schemas,
    hotReads: hotStore,
    dynamoDoc,
    warehouse,
  });
  // Answers to repeated hot-tier queries are kept until the stream processor writes again.
  const answerCache: AnswerCache = new ByteBoundedCache({
    maxBytes: config.queries.answerCacheBytes,
    ttlMs: hotCache.ttlMs,
  });
  const apollo = createApiServer({
    maxQueryDepth: config.maxQueryDepth,
    access: config.access,
    queries: config.queries,
    plugins: [hotResponseCachePlugin({ answers: answerCache, generation: () => hotStore.generation })],
  });
  await apollo.start();
  const http = await startHttpServer({
    host: config.host,
    port: config.port,
    apollo,
    playgroundApiKey: apiKey,
    demoWriteKey: writeKey,
    allowedHosts: config.allowedHosts,
    context: (headers, sourceIp) => createRequestContext({ services, headers, sourceIp }),
    segment: new SegmentApi({
      access: services.access,
      ingest: services.ingest,
      names: loadSegmentEventNames(config),
    }),
  });
  await poller.start();
  loader.start();

  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    playgroundUrl: `${http.url}/playground`,
    apiKey,
    writeKey,
    kinesisEndpoint: emulators.kinesisEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    warehouse,
    poller,
    answerCache,
    settle: async () => {
      await poller.drain();
      await loader.runOnce();
    },
    close: async () => {
      // Stop taking requests, finish the batch in flight, write out buffers, load, then close stores.
      await http.close();
      await apollo.stop();
      await poller.stop();
      await eventsDelivery.close();
      await failedDelivery.close();
      await loader.stop();
      await warehouse.close();
      kinesis.destroy();
      dynamoDoc.destroy();
      await emulators.close();
    },
  };
}
