import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions } from '@smithy/types';
import type { HttpRequest } from '@smithy/core/protocols';
import { createDynamoDbDocumentClient } from '../src/aws/clients';
import { loadConfig } from '../src/config';
import { hotStoreFromConfig } from '../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import type { HotActivity } from '../src/sinks/hot-tier/port';
import { SUSTAIN_USERS, shopEvent } from './shop-events';

/** What the parent asks of this process: the tables to record on and replay to, and the batches. */
export interface HotStoreFloorRequest {
  endpoint: string;
  region: string;
  /** The adapter writes here while its requests are recorded. */
  recordTable: string;
  /** An empty table of the same definition the recorded requests are replayed to. */
  replayTable: string;
  /** Events per applyActivity call: the poller's batch size, which a backlogged shard fills. */
  batchSize: number;
  /**
   * Batches between two folds of the pending item and trend changes: the stack folds once per
   * fold interval, so this is the batches the sustained rate fills in one.
   */
  foldEvery: number;
  /** Rotations through every user written before timing starts (profiles and identities exist). */
  warmRotations: number;
  /** Rotations timed. */
  timedRotations: number;
  /** Requests in flight at once during the replay: the adapter's write concurrency. */
  concurrency: number;
}

/**
 * What the adapter sent for one batch or one fold, in the steps it waited on: the requests of a
 * step went out together, a step only after the one before had answered.
 */
type RecordedSteps = RecordedRequest[][];

/** Requests of one kind the adapter sent per 100 timed events, and their mean body size. */
export interface RequestMix {
  operation: string;
  per100Events: number;
  /** Keys or items the calls carried, per 100 events (one per call for PutItem and GetItem). */
  keysPer100Events: number;
  meanBodyBytes: number;
}

export interface HotStoreFloorResult {
  /** Events/s of the adapter itself (DynamoDbHotStore.applyActivity and foldPending) writing to the store. */
  adapterEventsPerSec: number;
  /** CPU time of the adapter's side (the engine and the SDK, in this process) per event, in µs. */
  adapterCpuUsPerEvent: number;
  /** Events/s of the store taking the same requests replayed raw, with no SDK in front. */
  storeEventsPerSec: number;
  mix: RequestMix[];
  /** Replayed requests the store answered with an error (a conditional write refused, say): 0 when faithful. */
  replayErrors: number;
  timedEvents: number;
  /** Folds in the timed part, and events per fold. */
  timedFolds: number;
  eventsPerFold: number;
}

interface RecordedRequest {
  target: string;
  body: string;
}

/** The SDK's transport with every request the client sends noted down as it goes out. */
class RecordingHandler extends NodeHttpHandler {
  readonly sent: RecordedRequest[] = [];
  override handle(request: HttpRequest, options?: HttpHandlerOptions) {
    const body: unknown = request.body;
    this.sent.push({
      target: String(request.headers['x-amz-target']),
      body: body instanceof Uint8Array ? Buffer.from(body).toString('utf8') : String(body),
    });
    return super.handle(request, options);
  }
}

const SHARD = 'shardId-000000000000';

/** The shop's events as the stream processor hands them to the hot tier, in stream order. */
function shopActivity(from: number, count: number): HotActivity[] {
  const now = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const event = shopEvent(n);
    return {
      profileId: event.userId,
      messageId: randomUUID(),
      event: event.event,
      timestamp: now,
      receivedAt: now,
      shardId: SHARD,
      sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(n)),
      itemIds: [event.properties.product_id],
      traits: null,
      isBot: false,
      userId: event.userId,
      anonymousId: null,
      previousId: null,
      mergesUsers: false,
    };
  });
}

/** How many keys or items a recorded call carried. */
function keysOf(request: RecordedRequest): number {
  const body = JSON.parse(request.body) as {
    RequestItems?: Record<string, { Keys?: unknown[] } | unknown[]>;
  };
  const tables = Object.values(body.RequestItems ?? {});
  if (tables.length === 0) return 1;
  return tables.reduce<number>(
    (sum, table) => sum + (Array.isArray(table) ? table.length : (table.Keys?.length ?? 0)),
    0,
  );
}

function mixOf(requests: readonly RecordedRequest[], events: number): RequestMix[] {
  const byOperation = new Map<string, RecordedRequest[]>();
  for (const request of requests) {
    const operation = request.target.split('.').at(-1) ?? request.target;
    byOperation.set(operation, [...(byOperation.get(operation) ?? []), request]);
  }
  return [...byOperation].map(([operation, calls]) => ({
    operation,
    per100Events: (calls.length * 100) / events,
    keysPer100Events: (calls.reduce((sum, call) => sum + keysOf(call), 0) * 100) / events,
    meanBodyBytes: calls.reduce((sum, call) => sum + Buffer.byteLength(call.body), 0) / calls.length,
  }));
}

/**
 * A fold's requests in the steps it waits on: its Query pages, then its reads of items and trends,
 * their conditional writes, and the deletes of what it folded. Each step is a run of one operation.
 */
function foldSteps(requests: readonly RecordedRequest[]): RecordedSteps {
  const steps: RecordedSteps = [];
  for (const request of requests) {
    const last = steps.at(-1);
    if (last !== undefined && last[0]?.target === request.target) last.push(request);
    else steps.push([request]);
  }
  return steps;
}

/**
 * Sends the recorded requests as they were, to another table, over plain keep-alive HTTP: what
 * the store takes, with no SDK (marshalling, signing) in front. Batch by batch and fold by fold in
 * order, so every conditional write meets the same version it met when recorded, and a fold reads
 * the pending log the batches before it appended; within a batch every key is written once, so its
 * requests go `concurrency` at a time in any order; a fold's steps go one after another, as the
 * fold sends them (its deletes after its Query), each step's requests `concurrency` at a time.
 */
async function replay(
  endpoint: string,
  groups: readonly RecordedSteps[],
  concurrency: number,
): Promise<{ errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL(endpoint);
  const send = (request: RecordedRequest) =>
    new Promise<boolean>((resolve, reject) => {
      const call = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': request.target,
            'x-amz-date': '20261202T000000Z',
            // The emulator checks the header's form, not the signature.
            authorization:
              'AWS4-HMAC-SHA256 Credential=floor/20261202/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
            'content-length': Buffer.byteLength(request.body),
          },
        },
        (response) => {
          response.resume();
          response.once('end', () => resolve(response.statusCode === 200));
        },
      );
      call.once('error', reject);
      call.end(request.body);
    });
  let errors = 0;
  for (const step of groups.flat()) {
    let next = 0;
    const lane = async () => {
      while (next < step.length) {
        const request = step[next++] as RecordedRequest;
        if (!(await send(request))) errors += 1;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  }
  agent.destroy();
  return { errors };
}

/**
 * The child process `hotStoreFloor()` forks. First the hot tier's adapter (DynamoDbHotStore, as the
 * embedded stack builds it) applies the shop's events batch by batch, folding the pending item and
 * trend changes every `foldEvery` batches as the stack's fold loop does, while its requests are
 * recorded: that is the request mix the adapter sends per event, and its own events/s. Then the
 * same requests are replayed raw to an empty table in the same store, as fast as it answers them:
 * the events/s the store itself absorbs, the floor under anything that writes the hot tier.
 */
async function run(request: HotStoreFloorRequest): Promise<HotStoreFloorResult> {
  const recorder = new RecordingHandler();
  const client = createDynamoDbDocumentClient(
    { aws: { region: request.region, dynamodbEndpoint: request.endpoint } },
    { dynamodb: recorder },
  );
  const config = loadConfig({ TRIBUTARY_TABLE_NAME: request.recordTable });
  const store = hotStoreFromConfig(client, { ...config, tableName: request.recordTable });
  const batchesPerRotation = Math.ceil(SUSTAIN_USERS / request.batchSize);
  const rotations = request.warmRotations + request.timedRotations;
  const timedFrom = request.warmRotations * batchesPerRotation;
  // Batches and folds in the order they ran, each with whether it was timed.
  const groups: Array<{ timed: boolean; steps: RecordedSteps }> = [];
  let adapterMs = 0;
  let adapterCpuUs = 0;
  let timedFolds = 0;
  /** Runs `work` while recording its requests; times it when `timed`. */
  const recorded = async (timed: boolean, work: () => Promise<unknown>): Promise<RecordedRequest[]> => {
    const first = recorder.sent.length;
    const started = performance.now();
    const cpu = process.cpuUsage();
    await work();
    if (timed) {
      adapterMs += performance.now() - started;
      const used = process.cpuUsage(cpu);
      adapterCpuUs += used.user + used.system;
    }
    return recorder.sent.slice(first);
  };
  const fold = async (timed: boolean) => {
    const requests = await recorded(timed, async () => {
      for (let more = true; more;) more = (await store.foldPending()).more;
    });
    groups.push({ timed, steps: foldSteps(requests) });
    if (timed) timedFolds += 1;
  };
  const total = rotations * batchesPerRotation;
  for (let index = 0; index < total; index++) {
    const timed = index >= timedFrom;
    const activity = shopActivity(index * request.batchSize, request.batchSize);
    groups.push({ timed, steps: [await recorded(timed, () => store.applyActivity(activity))] });
    // The warm-up ends folded, so the timed part folds only its own batches' changes.
    if ((index + 1) % request.foldEvery === 0 || index + 1 === timedFrom || index + 1 === total) {
      await fold(timed);
    }
  }
  client.destroy();

  const timedEvents = (total - timedFrom) * request.batchSize;
  const retarget = (r: RecordedRequest): RecordedRequest => ({
    target: r.target,
    body: r.body.replaceAll(JSON.stringify(request.recordTable), JSON.stringify(request.replayTable)),
  });
  const replayed = groups.map((group) => ({
    timed: group.timed,
    steps: group.steps.map((step) => step.map(retarget)),
  }));
  const warm = await replay(
    request.endpoint,
    replayed.filter((g) => !g.timed).map((g) => g.steps),
    request.concurrency,
  );
  const started = performance.now();
  const timed = await replay(
    request.endpoint,
    replayed.filter((g) => g.timed).map((g) => g.steps),
    request.concurrency,
  );
  const storeMs = performance.now() - started;
  return {
    adapterEventsPerSec: timedEvents / (adapterMs / 1000),
    adapterCpuUsPerEvent: adapterCpuUs / timedEvents,
    storeEventsPerSec: timedEvents / (storeMs / 1000),
    mix: mixOf(
      groups.filter((g) => g.timed).flatMap((g) => g.steps.flat()),
      timedEvents,
    ),
    replayErrors: warm.errors + timed.errors,
    timedEvents,
    timedFolds,
    eventsPerFold: timedEvents / Math.max(1, timedFolds),
  };
}

process.once('message', (message) => {
  run(message as HotStoreFloorRequest).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
