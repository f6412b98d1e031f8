import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createApiServer, createRequestContext } from '../api/apollo-server';
import { ByteBoundedCache } from '../api/byte-bounded-cache';
import { hotResponseCachePlugin, type AnswerCache } from '../api/hot-response-cache';
import type { Config } from '../config';
import type { EventStreamProducer } from '../stream/port';
import { schemaRegistryFromConfig } from '../services/schema-files';
import { CachedHotStore } from '../sinks/hot-tier/cached-hot-store';
import { createServices } from '../services/create-services';
import { createDynamoDbDocumentClient, createKinesisClient } from '../aws/clients';
import { DuckDbWarehouse } from '../sinks/warehouse/duckdb/duckdb-warehouse';
import { ensureHotTable } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { CoalescingProducer } from '../stream/coalescing-producer';
import { KinesisProducer } from '../stream/kinesis/kinesis-producer';
import {
  persistedApiKey,
  persistedPiiSecret,
  persistedUserTokenSecret,
  persistedWriteKey,
} from './secret-files';
import { ensureStream, startEmulators } from './emulators';
import { hotStoreFromConfig } from '../sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { PipelineThread } from './pipeline/thread';
import { startHttpServer } from './http-server';
import { SegmentApi } from '../api/segment/segment-api';
import { loadSegmentEventNames } from '../services/segment-event-names';
import { WarehouseLoadLoop } from './warehouse-load-loop';
import { DynamoDbDeletionRequestStore } from '../privacy/dynamodb/dynamodb-deletion-request-store';
import { DeletionRunner } from '../services/deletion-runner';
import { hotTierPersonEraser } from '../services/hot-tier-person-eraser';
import { LocalLakeEraser } from '../sinks/lake/local/local-lake-eraser';
import { DynamoDbMessageMarkers } from '../privacy/dynamodb/dynamodb-message-markers';
import { WarehousePersonEraser } from '../sinks/warehouse/warehouse-person-eraser';
import { DynamoDbTtlSweeper } from '../sinks/hot-tier/dynamodb/dynamodb-ttl-sweeper';
import { LocalLakeRetention } from '../sinks/lake/local/local-lake-retention';
import type { PersonEraser } from '../privacy/port';
import { RetentionLoop } from './retention-loop';
import { buildTributarySchema } from '../api/build-schema';
import { liveSocketOptions } from '../api/live-socket';
import { enricherFromConfig } from '../events/from-config';
import { LiveHub } from '../live/live-hub';
import { liveSocketRequest } from './live-socket-server';

/** An eraser run between the warehouse's loads, never during one. */
function betweenLoads(eraser: PersonEraser, warehouse: DuckDbWarehouse): PersonEraser {
  return { store: eraser.store, erase: (ids) => warehouse.betweenLoads(() => eraser.erase(ids)) };
}

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
  /** The thread the poller, stream processor and lake deliveries run on. */
  pipeline: Pick<PipelineThread, 'threadId' | 'drain'>;
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
 *
 * The poller, the stream processor and the lake deliveries run on a thread of their own (see
 * pipeline/worker.ts), as each emulator does, so this thread's event loop serves the API.
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
    dynamodbNiceness: config.backgroundNiceness,
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

  // The stream processor, the table's only writer, has this cache forget what each batch changed
  // before the batch counts as processed: reads are never stale, so entries need no expiry.
  const hotCache = {
    ...config.hotCache,
    ttlMs: config.hotCache.ttlMs > 0 ? Number.POSITIVE_INFINITY : 0,
  };
  const hotTable = hotStoreFromConfig(dynamoDoc, config);
  const hotStore = new CachedHotStore(hotTable, hotCache);
  // The live view's subscribers are on this thread; the pipeline sends its failed events here only
  // while there are any (see below).
  const live = new LiveHub({
    eventsPerSecond: config.live.eventsPerSecond,
    heartbeatMs: config.live.heartbeatMs,
  });
  // The thread loads its modules while this one opens the warehouse and starts the API.
  const pipelineStarted = PipelineThread.start({
    data: { config: { ...config, aws }, piiSecret },
    hotReads: hotStore,
    live,
    // Nothing would process what the API goes on acknowledging: the process stops, as it did when
    // one thread ran both, and a restart resumes from the checkpoints.
    onCrash: (error) => {
      throw error;
    },
  });
  // Awaited below; a failure meanwhile is not unhandled.
  pipelineStarted.catch(() => undefined);

  // DuckDB stays on this thread: the API's analytics queries read it, and a database file opens
  // once per process, so the loader shares this instance. A load costs this thread little: DuckDB
  // runs the statements on threads of its own while the event loop waits (docs/local-stack.md has
  // the measurement).
  const warehouse = await DuckDbWarehouse.open({
    databasePath: path.join(config.dataDir, 'warehouse.duckdb'),
    lakeDir: path.join(config.dataDir, 'lake'),
    identity: config.identity,
  });
  const loader = new WarehouseLoadLoop(warehouse, { intervalMs: config.loader.intervalMs });
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
  const pipeline = await pipelineStarted;
  // Nobody can subscribe before the HTTP server starts, below.
  live.onSubscribersChange((active) => pipeline.watchLive(active));

  // kinesalite serialises calls, so concurrent requests share one PutRecords call.
  const coalescing = new CoalescingProducer(
    new KinesisProducer({ client: kinesis, streamName: config.streamName }),
  );
  // An idle shard is read about once a second; records put through the API are read at once.
  const producer: EventStreamProducer = {
    putRecords: async (records) => {
      const outcomes = await coalescing.putRecords(records);
      pipeline.wake();
      return outcomes;
    },
  };
  // Deletions run on this thread: the hot tier's cache and DuckDB live here, and the lake rewrites
  // and scans run in DuckDB's and the file system's own threads. In step order: the warehouse
  // last, as a load reads the lake (docs/privacy.md#deletion).
  const lakeDir = path.join(config.dataDir, 'lake');
  const markers = new DynamoDbMessageMarkers({ client: dynamoDoc, tableName: config.tableName });
  const deletions = new DeletionRunner({
    store: new DynamoDbDeletionRequestStore({ client: dynamoDoc, tableName: config.tableName }),
    erasers: [
      hotTierPersonEraser(hotTable, hotStore),
      // Between loads: a load reads each Parquet file twice, and must not see two versions of one.
      betweenLoads(new LocalLakeEraser({ rootDir: lakeDir, records: 'events', markers }), warehouse),
      betweenLoads(new LocalLakeEraser({ rootDir: lakeDir, records: 'failed', markers }), warehouse),
      new WarehousePersonEraser(warehouse),
    ],
  });
  // The key is at hand here: the edge scrubs live events with the pipeline's own rules.
  const liveScrubber = Promise.resolve(enricherFromConfig(config, piiSecret).scrub);
  const services = createServices({
    config,
    bootstrapKeys: () => Promise.resolve(bootstrapKeys),
    producer,
    schemas,
    hotReads: hotStore,
    dynamoDoc,
    warehouse,
    deletionRunner: deletions,
    live: { publisher: live, feed: live, scrubber: () => liveScrubber },
  });
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
    live: {
      graphqlWs: liveSocketOptions({
        schema: buildTributarySchema(),
        services,
        maxQueryDepth: config.maxQueryDepth,
        access: config.access,
        maxQueryBytes: config.queries.maxBytes,
        requestOf: liveSocketRequest,
      }),
      maxConnections: config.live.maxConnections,
      // A subscribe message is its query text and a small filter.
      maxMessageBytes: config.queries.maxBytes + 64 * 1024,
    },
  });
  // The loader lists the lake when the pipeline says it wrote files, not every second.
  pipeline.onLakeFilesWritten(() => loader.filesLanded());
  loader.start();
  void deletions.resume();
  const retention = new RetentionLoop({
    lake: new LocalLakeRetention({
      lakeDir,
      days: { events: config.retention.lakeDays, failed: config.retention.failedEventsDays },
    }),
    warehouse,
    hotTable: new DynamoDbTtlSweeper({ client: dynamoDoc, tableName: config.tableName }),
    hotCache: hotStore,
    limits: config.retention,
  });
  retention.start();

  return {
    url: http.url,
    graphqlUrl: `${http.url}/graphql`,
    playgroundUrl: `${http.url}/playground`,
    apiKey,
    writeKey,
    kinesisEndpoint: emulators.kinesisEndpoint,
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    warehouse,
    pipeline,
    answerCache,
    settle: async () => {
      await pipeline.drain();
      await loader.runOnce();
    },
    close: async () => {
      // Stop taking requests, finish the batch in flight, write out buffers, load, then close stores.
      await http.close();
      live.close();
      await apollo.stop();
      await deletions.close();
      await retention.stop();
      await pipeline.stop();
      await loader.stop();
      await warehouse.close();
      kinesis.destroy();
      dynamoDoc.destroy();
      await emulators.close();
    },
  };
}
