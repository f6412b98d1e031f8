import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  NoSuchBucket,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { ListObjectVersionsCommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { MessageMarkers, PersonEraser } from '../../../privacy/port';
import { ACCESS_DENIED_ERROR_NAMES, sdkErrorFacts } from '../../../aws/retry';
import { LakeEraseError } from '../errors';
import { PersonFileEraser, describeErasure } from '../person-file-eraser';
import type { LakeErasureResult, LakeFileFailure } from '../person-file-eraser';
import { PersonIds } from '../person-records';
import type { LakeRecordKind } from '../person-records';

export interface S3LakeEraserOptions {
  client: S3Client;
  bucket: string;
  /** The records to erase: `events` (Parquet, and gzip NDJSON from before Parquet) or `failed`. */
  records: LakeRecordKind;
  /** Where the files are: `<records>/` unless given (say, `quarantine/events/`). */
  prefix?: string;
  /**
   * Where files are downloaded and rewritten: the OS temp folder unless given (Lambda's /tmp). It
   * needs room for twice the largest file, for each file handled at once.
   */
  tempDir?: string;
  /** Files handled at once; each costs a download, and the time to scan it. */
  concurrency?: number;
  /** The edge dedupe markers and hot-tier claims, deleted for each record removed before its file is rewritten. */
  markers?: MessageMarkers;
}

/** What an S3 erasure did: a lake erasure, and the old versions it removed. */
export interface S3LakeErasureResult extends LakeErasureResult {
  /**
   * Object versions deleted: those a rewrite replaced, older ones that named the person, and every
   * version of a file left with no records.
   */
  versionsDeleted: number;
}

/** One stored version of an object. */
interface ObjectVersion {
  versionId: string;
  etag: string | undefined;
  size: number;
}

/** A key of the lake and its versions: the current one (none when a delete marker is), and the older ones. */
interface KeyVersions {
  key: string;
  current: ObjectVersion | undefined;
  older: ObjectVersion[];
}

/** What handling one key needs from its run. */
interface KeyWork {
  eraser: PersonFileEraser;
  result: S3LakeErasureResult;
  /** A new path in the run's temp folder for a file of this key. */
  nextFile: (key: string) => string;
}

/**
 * Removes a person's records from the S3 lake, one prefix per eraser. Every object under the
 * prefix is downloaded and scanned (S3 cannot search inside objects); one holding none of the
 * person's records is not written. One holding some is rewritten without them (person-file-eraser)
 * and put back under the same key, then the version it replaced is deleted, so that no older
 * version of the versioned bucket keeps the records; one left with no records is deleted with all
 * its versions. Keys keep their names: the warehouse load records the keys it has COPYed
 * (`lake_files`), so a rewritten file is not loaded again (its other rows would be duplicated) and
 * one not loaded yet is loaded once, without the person.
 *
 * It lists versions (ListObjectVersions), not objects: that one listing shows the current files and
 * the older versions an interrupted run left (a crash between the put and the version removal), which
 * the next run reads and removes when they name the person. A put only replaces the version that was
 * read (`If-Match` its ETag), so a file changed meanwhile by another erasure is not overwritten with
 * stale content; that file fails the run, and the rerun reads it again. Versions are deleted by id,
 * which deletes for good (no delete marker) in a versioned bucket and an unversioned one alike.
 */
export class S3LakeEraser implements PersonEraser {
  readonly store: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly records: LakeRecordKind;
  private readonly prefix: string;
  private readonly tempDir: string;
  private readonly concurrency: number;
  private readonly markers: MessageMarkers | undefined;
  // One run at a time per eraser: the temp folder is the eraser's, and two runs would race on files.
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: S3LakeEraserOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.records = options.records;
    this.prefix = options.prefix ?? `${options.records}/`;
    this.store = `lake-${this.prefix.replace(/\/+$/, '').replace(/\//g, '-')}`;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.markers = options.markers;
    const folder = `tributary-${this.store}-${this.bucket}`.replace(/[^A-Za-z0-9._-]/g, '_');
    this.tempDir = path.join(options.tempDir ?? os.tmpdir(), folder);
  }

  /** Removes every record naming one of `ids` from the prefix's files and their versions; idempotent. */
  erase(ids: readonly string[]): Promise<S3LakeErasureResult> {
    const run = this.chain.catch(() => undefined).then(() => this.eraseNow(new PersonIds(ids)));
    this.chain = run;
    return run;
  }

  private async eraseNow(ids: PersonIds): Promise<S3LakeErasureResult> {
    const result: S3LakeErasureResult = {
      removed: 0,
      filesScanned: 0,
      filesRewritten: 0,
      filesDeleted: 0,
      bytesRewritten: 0,
      versionsDeleted: 0,
      ...(this.markers === undefined ? {} : { markersRemoved: 0 }),
    };
    if (ids.size === 0) return { ...result, detail: 'no id to erase' };
    // Whatever a run that died left here goes first.
    await fs.rm(this.tempDir, { recursive: true, force: true });
    await fs.mkdir(this.tempDir, { recursive: true });
    const eraser = PersonFileEraser.open(this.records, ids, {
      tempDirectory: this.tempDir,
      markers: this.markers,
    });
    const failures: LakeFileFailure[] = [];
    let files = 0;
    // Numbered names (no glob characters for DuckDB), with the key's suffix, which tells the format.
    const nextFile = (key: string) => path.join(this.tempDir, `${(files += 1)}${path.extname(key)}`);
    const work: KeyWork = { eraser, result, nextFile };
    try {
      const keys = this.keyVersions(eraser);
      // Workers share one iterator; an async generator queues their next() calls.
      const workers = Array.from({ length: this.concurrency }, async () => {
        for (let next = await keys.next(); next.done !== true; next = await keys.next()) {
          try {
            await this.eraseKey(next.value, work);
          } catch (error) {
            failures.push({ file: next.value.key, error });
          }
        }
      });
      const settled = await Promise.allSettled(workers);
      const listing = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (listing !== undefined) throw this.translate(listing.reason);
    } finally {
      await eraser.close();
      await fs.rm(this.tempDir, { recursive: true, force: true });
    }
    if (failures.length > 0) {
      const keys = failures.map((f) => f.file);
      throw new LakeEraseError(
        `could not erase from ${failures.length} object(s) under ${this.prefix} in lake bucket ${this.bucket}: ` +
          `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', …' : ''} (${result.removed} record(s) removed before that)`,
        'LAKE_ERASE_INCOMPLETE',
        { cause: failures[0]?.error, removed: result.removed },
      );
    }
    return {
      ...result,
      detail: `${describeErasure(result)}, ${result.versionsDeleted} object version(s) deleted`,
    };
  }

  /**
   * Every lake file under the prefix with its versions, in key order, a page of the listing at a
   * time. A key's versions may run over into the next page, so the last key of a page waits for it.
   */
  private async *keyVersions(eraser: PersonFileEraser): AsyncGenerator<KeyVersions> {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    let waiting: KeyVersions | undefined;
    for (;;) {
      const page: ListObjectVersionsCommandOutput = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      const groups: KeyVersions[] = waiting === undefined ? [] : [waiting];
      for (const version of page.Versions ?? []) {
        if (version.Key === undefined) continue;
        let group = groups[groups.length - 1];
        if (group?.key !== version.Key) {
          group = { key: version.Key, current: undefined, older: [] };
          groups.push(group);
        }
        const stored = {
          versionId: version.VersionId ?? 'null',
          etag: version.ETag,
          size: version.Size ?? 0,
        };
        if (version.IsLatest === true) group.current = stored;
        else group.older.push(stored);
      }
      // S3 sets the next markers only when IsTruncated; checking both keeps a stray marker from looping.
      const more = page.IsTruncated === true && page.NextKeyMarker !== undefined;
      waiting = more && groups[groups.length - 1]?.key === page.NextKeyMarker ? groups.pop() : undefined;
      for (const group of groups) if (eraser.reads(group.key)) yield group;
      if (!more) return;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
  }

  private async eraseKey({ key, current, older }: KeyVersions, work: KeyWork): Promise<void> {
    const { eraser, result } = work;
    let olderToCheck = older;
    if (current !== undefined) {
      result.filesScanned += 1;
      const file = await this.download(key, current, work.nextFile(key));
      const rewritten = work.nextFile(key);
      try {
        if ((await this.recordsOfPerson(eraser, file)) > 0) {
          const { kept, removed, markersRemoved } = await eraser.rewrite(file, rewritten);
          if (result.markersRemoved !== undefined) result.markersRemoved += markersRemoved;
          // Every older version holds at least what the current one does (each is the file before
          // an erasure), so each names the person too.
          if (kept === 0) {
            // The current version goes last: a run stopped midway leaves it listed, and the next
            // one finds it again.
            await this.deleteVersions(key, [...older, current], result);
            result.filesDeleted += 1;
          } else {
            await this.put(key, rewritten, current);
            await this.deleteVersions(key, [current, ...older], result);
            result.filesRewritten += 1;
          }
          olderToCheck = [];
          result.removed += removed;
          result.bytesRewritten += current.size;
        }
      } finally {
        await fs.rm(file, { force: true });
        await fs.rm(rewritten, { force: true });
      }
    }
    // Beside a current version without the person, older versions are what an interrupted erasure
    // left (or, beside none, a file moved out of the prefix, whose copy lives on elsewhere): each is
    // read, and deleted when it names the person.
    for (const version of olderToCheck) {
      const file = await this.download(key, version, work.nextFile(key));
      try {
        if ((await this.recordsOfPerson(eraser, file)) > 0) {
          // A version a rewrite replaced had its markers deleted then; one a move left behind did not.
          const markersRemoved = await eraser.forgetMessages(file);
          if (result.markersRemoved !== undefined) result.markersRemoved += markersRemoved;
          await this.deleteVersions(key, [version], result);
        }
      } finally {
        await fs.rm(file, { force: true });
      }
    }
  }

  private async recordsOfPerson(eraser: PersonFileEraser, file: string): Promise<number> {
    const { counts, unreadable } = await eraser.find([file]);
    if (unreadable[0] !== undefined) throw unreadable[0].error;
    return counts.get(file) ?? 0;
  }

  private async download(key: string, version: ObjectVersion, file: string): Promise<string> {
    const object = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId: version.versionId }),
    );
    if (object.Body === undefined) throw new Error(`S3 returned no body for ${key}`);
    await pipeline(object.Body as Readable, createWriteStream(file, { flags: 'wx' }));
    return file;
  }

  private async put(key: string, file: string, replaced: ObjectVersion): Promise<void> {
    const { size } = await fs.stat(file);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        IfMatch: replaced.etag,
      }),
    );
  }

  private async deleteVersions(
    key: string,
    versions: readonly ObjectVersion[],
    result: S3LakeErasureResult,
  ): Promise<void> {
    for (const version of versions) {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: version.versionId }),
      );
      result.versionsDeleted += 1;
    }
  }

  /** A listing S3 refused for a reason retrying will not fix; anything else is rethrown as it is. */
  private translate(error: unknown): unknown {
    if (error instanceof NoSuchBucket) {
      return new LakeEraseError(`lake bucket ${this.bucket} does not exist`, 'LAKE_BUCKET_NOT_FOUND', {
        cause: error,
      });
    }
    if (ACCESS_DENIED_ERROR_NAMES.has(sdkErrorFacts(error).name)) {
      return new LakeEraseError(
        `not allowed to list versions under ${this.prefix} in lake bucket ${this.bucket}`,
        'LAKE_ACCESS_DENIED',
        { cause: error },
      );
    }
    return error;
  }
}
