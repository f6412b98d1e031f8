import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type {
  DeleteObjectCommandInput,
  GetObjectCommandInput,
  ListObjectVersionsCommandInput,
  PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { StoredEvent } from '../../src/events/types';
import type { MessageMarkers } from '../../src/privacy/port';
import { LakeEraseError } from '../../src/sinks/lake/errors';
import { EventsParquetFormat } from '../../src/sinks/lake/file-format';
import { S3LakeEraser } from '../../src/sinks/lake/firehose/s3-lake-eraser';
import { LocalLakeDelivery } from '../../src/sinks/lake/local/local-lake-delivery';
import { readLakeEvents } from '../helpers/lake-events';

const ADA = ['u-ada', 'anon-ada'];
const BUCKET = 'lake-bucket';

interface StoredVersion {
  key: string;
  versionId: string;
  body: Buffer | null;
  etag: string;
}

const s3Error = (name: string, status: number): S3ServiceException =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

/**
 * A versioned S3 bucket as far as the eraser uses it, on aws-sdk-client-mock (S3 has no emulator
 * here): versions newest last per key, delete markers as versions without a body, ListObjectVersions
 * in pages of `pageSize` versions (small, so that tests paginate, a key's versions across pages),
 * PutObject honouring If-Match, DeleteObject by version id.
 */
class FakeVersionedBucket {
  readonly s3 = mockClient(S3Client);
  readonly versions: StoredVersion[] = [];
  pageSize = 2;
  /** Called on each GetObject before it answers, as another writer acting meanwhile. */
  onGet: ((key: string) => void) | undefined;
  /** The key whose next DeleteObject fails, with a 503. */
  failNextDeleteOf: string | undefined;
  private nextVersion = 0;

  constructor() {
    this.s3
      .on(ListObjectVersionsCommand)
      .callsFake((input: ListObjectVersionsCommandInput) => this.list(input));
    this.s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
      const version = this.versions.find((v) => v.key === input.Key && v.versionId === input.VersionId);
      if (version?.body == null) throw s3Error('NoSuchVersion', 404);
      this.onGet?.(version.key);
      return { Body: Readable.from([version.body]), ETag: version.etag, VersionId: version.versionId };
    });
    this.s3.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      const current = this.current(input.Key!);
      if (input.IfMatch !== undefined && current?.etag !== input.IfMatch)
        throw s3Error('PreconditionFailed', 412);
      const chunks: Buffer[] = [];
      for await (const chunk of input.Body as Readable) chunks.push(chunk as Buffer);
      return { VersionId: this.add(input.Key!, Buffer.concat(chunks)).versionId };
    });
    this.s3.on(DeleteObjectCommand).callsFake((input: DeleteObjectCommandInput) => {
      if (this.failNextDeleteOf === input.Key) {
        this.failNextDeleteOf = undefined;
        throw s3Error('ServiceUnavailable', 503);
      }
      const index = this.versions.findIndex((v) => v.key === input.Key && v.versionId === input.VersionId);
      if (index >= 0) this.versions.splice(index, 1);
      return {};
    });
  }

  add(key: string, body: Buffer | null): StoredVersion {
    const version: StoredVersion = {
      key,
      versionId: `v${String((this.nextVersion += 1)).padStart(4, '0')}`,
      body,
      etag: body === null ? '' : `"${createHash('md5').update(body).digest('hex')}"`,
    };
    this.versions.push(version);
    return version;
  }

  /** A key's current version, undefined when there is none or a delete marker is. */
  current(key: string): StoredVersion | undefined {
    const latest = this.versions.filter((v) => v.key === key).at(-1);
    return latest?.body === null ? undefined : latest;
  }

  /** The bodies of the current versions, by key. */
  currentBodies(): Map<string, Buffer> {
    const keys = [...new Set(this.versions.map((v) => v.key))];
    return new Map(
      keys.flatMap((key) => {
        const body = this.current(key)?.body;
        return body == null ? [] : [[key, body] as const];
      }),
    );
  }

  private list(input: ListObjectVersionsCommandInput) {
    // Key order, newest version first within a key, as S3 lists them.
    const all = [...this.versions]
      .filter((v) => v.key.startsWith(input.Prefix ?? ''))
      .map((v, i, list) => ({ ...v, latest: list.filter((w) => w.key === v.key).at(-1) === v }))
      .sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.versionId < b.versionId ? 1 : -1));
    let start = 0;
    if (input.KeyMarker !== undefined) {
      const at = all.findIndex((v) => v.key === input.KeyMarker && v.versionId === input.VersionIdMarker);
      start = at >= 0 ? at + 1 : all.filter((v) => v.key <= input.KeyMarker!).length;
    }
    const page = all.slice(start, start + this.pageSize);
    const more = start + this.pageSize < all.length;
    const last = page.at(-1);
    const entry = (v: (typeof page)[number]) => ({
      Key: v.key,
      VersionId: v.versionId,
      IsLatest: v.latest,
      ETag: v.etag,
      Size: v.body?.length ?? 0,
    });
    return {
      Versions: page.filter((v) => v.body !== null).map(entry),
      DeleteMarkers: page
        .filter((v) => v.body === null)
        .map(({ key, versionId, latest }) => ({
          Key: key,
          VersionId: versionId,
          IsLatest: latest,
        })),
      IsTruncated: more,
      NextKeyMarker: more ? last?.key : undefined,
      NextVersionIdMarker: more ? last?.versionId : undefined,
    };
  }
}

function event(messageId: string, ids: Partial<StoredEvent>): StoredEvent {
  return {
    messageId,
    event: 'page_viewed',
    userId: null,
    anonymousId: null,
    sessionId: null,
    timestamp: '2024-03-05T10:00:00.000Z',
    sentAt: null,
    receivedAt: '2024-03-05T10:00:00.000Z',
    source: 'graphql',
    properties: {},
    context: {},
    processorVersion: '1.0.0',
    ...ids,
  };
}

/** Lake files as Firehose names and writes them: one per group, Parquet unless `ndjson`. */
async function lakeFiles(dir: string, groups: StoredEvent[][], ndjson = false): Promise<Buffer[]> {
  const delivery = new LocalLakeDelivery<StoredEvent>({
    rootDir: dir,
    prefix: 'events',
    format: ndjson ? undefined : new EventsParquetFormat(),
    flushBytes: 1,
    flushIntervalMs: 60_000,
    timeOf: (record) => new Date(record.receivedAt),
  });
  try {
    for (const group of groups) expect((await delivery.deliver(group)).failed).toEqual([]);
  } finally {
    await delivery.close();
  }
  const files = (await readdir(path.join(dir, 'events'), { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
  const bodies = await Promise.all(files.map((file) => readFile(file)));
  await rm(path.join(dir, 'events'), { recursive: true });
  return bodies;
}

describe('S3LakeEraser', () => {
  let bucket: FakeVersionedBucket;
  let dir: string;

  const eraser = () =>
    new S3LakeEraser({
      client: new S3Client({ region: 'eu-west-1' }),
      bucket: BUCKET,
      records: 'events',
      tempDir: path.join(dir, 'work'),
      concurrency: 2,
    });

  const key = (n: number, suffix = '.parquet') =>
    `events/year=2024/month=03/day=05/hour=10/events-${n}${suffix}`;

  /** The messageIds in the bucket's current files, read back as the lake's readers do. */
  async function currentMessageIds(): Promise<string[]> {
    const dataDir = await mkdtemp(path.join(dir, 'read-'));
    let n = 0;
    for (const [name, body] of bucket.currentBodies()) {
      if (!/\.(parquet|gz)$/.test(name)) continue;
      const suffix = name.endsWith('.gz') ? '.json.gz' : '.parquet';
      const file = path.join(dataDir, 'lake', 'events', `f${(n += 1)}${suffix}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, body);
    }
    return (await readLakeEvents(dataDir)).map((e) => e.messageId).sort();
  }

  const puts = () => bucket.s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
  const deletes = () => bucket.s3.commandCalls(DeleteObjectCommand).map((call) => call.args[0].input);
  const lists = () => bucket.s3.commandCalls(ListObjectVersionsCommand).map((call) => call.args[0].input);
  const gets = () => bucket.s3.commandCalls(GetObjectCommand).map((call) => call.args[0].input);

  beforeEach(async () => {
    bucket = new FakeVersionedBucket();
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-s3-erase-'));
  });

  afterEach(async () => {
    bucket.s3.restore();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Six files: two with Ada beside others, one only hers, two without her, one gzip NDJSON with her;
   * plus an object that is no lake file. The pages hold two versions each.
   */
  async function seed(): Promise<void> {
    const parquet = await lakeFiles(dir, [
      [event('a1', { userId: 'u-ada' }), event('b1', { userId: 'u-bob' })],
      [event('b2', { anonymousId: 'anon-bob' })],
      [event('a2', { anonymousId: 'anon-ada' }), event('a3', { userId: 'u-ada' })],
      [
        event('c1', { userId: 'u-cy' }),
        event('a4', { anonymousId: 'anon-ada' }),
        event('c2', { userId: 'u-cy' }),
      ],
      [event('c3', { userId: 'u-cy' })],
    ]);
    parquet.forEach((body, i) => bucket.add(key(i + 1), body));
    const [ndjson] = await lakeFiles(
      dir,
      [[event('a5', { userId: 'u-ada' }), event('b3', { userId: 'u-bob' })]],
      true,
    );
    bucket.add(key(6, '.gz'), ndjson!);
    bucket.add('events/_SUCCESS', Buffer.from('u-ada'));
  }

  it('rewrites the files naming the person under their keys, deletes the replaced versions, writes no other file', async () => {
    await seed();
    const before = bucket.currentBodies();

    const result = await eraser().erase(ADA);

    expect(result).toMatchObject({
      removed: 5,
      filesScanned: 6,
      filesRewritten: 3,
      filesDeleted: 1,
      // three replaced versions, and the only one of the file left empty
      versionsDeleted: 4,
    });
    expect(result.detail).toContain('4 object version(s) deleted');
    expect(await currentMessageIds()).toEqual(['b1', 'b2', 'b3', 'c1', 'c2', 'c3']);
    // No older version is left anywhere, and the file left empty is gone.
    expect(bucket.versions.map((v) => v.key).sort()).toEqual(
      [key(1), key(2), key(4), key(5), key(6, '.gz'), 'events/_SUCCESS'].sort(),
    );
    // Puts only for the files that named her, each conditional on the version read.
    expect(puts().map((input) => [input.Key, input.IfMatch])).toEqual(
      expect.arrayContaining([
        [key(1), expect.stringMatching(/^"[0-9a-f]{32}"$/)],
        [key(4), expect.any(String)],
        [key(6, '.gz'), expect.any(String)],
      ]),
    );
    expect(puts()).toHaveLength(3);
    for (const untouched of [key(2), key(5), 'events/_SUCCESS']) {
      expect(bucket.currentBodies().get(untouched)).toEqual(before.get(untouched));
    }
    // Paged through: seven versions, two per page.
    expect(lists()).toHaveLength(4);
    expect(lists().every((input) => input.Prefix === 'events/')).toBe(true);
    // Only lake files are read.
    expect(gets().map((input) => input.Key)).not.toContain('events/_SUCCESS');
  });

  it('is idempotent: run again, it reads but writes and deletes nothing', async () => {
    await seed();
    await eraser().erase(ADA);
    bucket.s3.resetHistory();
    expect(await eraser().erase(ADA)).toMatchObject({ removed: 0, versionsDeleted: 0, filesScanned: 5 });
    expect(puts()).toEqual([]);
    expect(deletes()).toEqual([]);
  });

  it('removes on the next run an old version whose DeleteObject failed after the put', async () => {
    await seed();
    bucket.failNextDeleteOf = key(1);

    const failure = await eraser()
      .erase(ADA)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LakeEraseError);
    expect(failure).toMatchObject({ code: 'LAKE_ERASE_INCOMPLETE' });
    const leftOver = bucket.versions.filter((v) => bucket.current(v.key) !== v);
    expect(leftOver).toHaveLength(1);

    bucket.s3.resetHistory();
    const rerun = await eraser().erase(ADA);
    expect(rerun).toMatchObject({ removed: 0, filesRewritten: 0, versionsDeleted: 1 });
    // The first page ended between the key's two versions.
    expect(lists()).toContainEqual(expect.objectContaining({ KeyMarker: leftOver[0]!.key }));
    expect(puts()).toEqual([]);
    expect(deletes()).toEqual([{ Bucket: BUCKET, Key: leftOver[0]!.key, VersionId: leftOver[0]!.versionId }]);
    expect(bucket.versions.filter((v) => bucket.current(v.key) !== v)).toEqual([]);
    expect(await currentMessageIds()).toEqual(['b1', 'b2', 'b3', 'c1', 'c2', 'c3']);
  });

  it('removes old versions naming the person behind a delete marker, keeps those of others', async () => {
    const [hers, theirs] = await lakeFiles(dir, [
      [event('a1', { userId: 'u-ada' }), event('b1', { userId: 'u-bob' })],
      [event('b2', { userId: 'u-bob' })],
    ]);
    // Files moved out of the folder (copied elsewhere, then deleted: a delete marker on top).
    const herVersion = bucket.add(key(1), hers!);
    bucket.add(key(1), null);
    const theirVersion = bucket.add(key(2), theirs!);
    bucket.add(key(2), null);

    expect(await eraser().erase(ADA)).toMatchObject({ removed: 0, filesScanned: 0, versionsDeleted: 1 });
    expect(bucket.versions).not.toContainEqual(herVersion);
    expect(bucket.versions).toContainEqual(theirVersion);
  });

  it('does not overwrite a file changed since it was read; the rerun reads it again', async () => {
    await seed();
    const [changed] = await lakeFiles(dir, [
      [event('a1', { userId: 'u-ada' }), event('b1', { userId: 'u-bob' }), event('x1', { userId: 'u-xi' })],
    ]);
    // Another writer replaces file 1 between the listing and the put.
    bucket.onGet = (read) => {
      if (read !== key(1)) return;
      bucket.onGet = undefined;
      bucket.add(key(1), changed!);
    };

    const failure = await eraser()
      .erase(ADA)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'LAKE_ERASE_INCOMPLETE',
      message: expect.stringContaining(key(1)),
    });
    expect(bucket.current(key(1))!.body).toEqual(changed);

    const rerun = await eraser().erase(ADA);
    expect(rerun).toMatchObject({ removed: 1, filesRewritten: 1 });
    expect(await currentMessageIds()).toEqual(['b1', 'b2', 'b3', 'c1', 'c2', 'c3', 'x1']);
    expect(bucket.versions.filter((v) => v.key === key(1))).toHaveLength(1);
  });

  it("deletes the messageId markers of every record it removes, also in versions a move left, and no one else's", async () => {
    await seed();
    const [moved] = await lakeFiles(dir, [
      [event('a6', { userId: 'u-ada' }), event('b6', { userId: 'u-bob' })],
    ]);
    bucket.add(key(7), moved!);
    bucket.add(key(7), null);
    // One marker per messageId here: the table's two kinds are DynamoDbMessageMarkers' concern.
    const held = new Set(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'b1', 'b2', 'b3', 'b6', 'c1']);
    const markers: MessageMarkers = {
      erase: (ids) => Promise.resolve([...new Set(ids)].filter((id) => held.delete(id)).length),
    };
    const withMarkers = new S3LakeEraser({
      client: new S3Client({ region: 'eu-west-1' }),
      bucket: BUCKET,
      records: 'events',
      tempDir: path.join(dir, 'work'),
      markers,
    });

    const result = await withMarkers.erase(ADA);
    expect(result).toMatchObject({ removed: 5, markersRemoved: 6 });
    expect(result.detail).toContain(', 6 messageId marker(s) deleted');
    expect([...held].sort()).toEqual(['b1', 'b2', 'b3', 'b6', 'c1']);
    expect(await withMarkers.erase(ADA)).toMatchObject({ removed: 0, markersRemoved: 0 });
  });

  it('reports a listing refused for access as such', async () => {
    bucket.s3.on(ListObjectVersionsCommand).rejects(s3Error('AccessDenied', 403));
    await expect(eraser().erase(ADA)).rejects.toMatchObject({
      name: 'LakeEraseError',
      code: 'LAKE_ACCESS_DENIED',
    });
  });

  it('names its store after its prefix', () => {
    const client = new S3Client({ region: 'eu-west-1' });
    expect(new S3LakeEraser({ client, bucket: BUCKET, records: 'failed' }).store).toBe('lake-failed');
    expect(
      new S3LakeEraser({ client, bucket: BUCKET, records: 'events', prefix: 'quarantine/events/' }).store,
    ).toBe('lake-quarantine-events');
  });
});
