import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { MessageMarkers, PersonEraser } from '../../../privacy/port';
import { LakeEraseError } from '../errors';
import { PersonFileEraser, describeErasure } from '../person-file-eraser';
import type { FileRewrite, LakeErasureResult, LakeFileFailure } from '../person-file-eraser';
import { PersonIds } from '../person-records';
import type { LakeRecordKind } from '../person-records';
import { syncDirectory } from './sync-directory';

export interface LocalLakeEraserOptions {
  /** The lake folder, e.g. `<dataDir>/lake`. */
  rootDir: string;
  /** The records to erase from, and so the folder they are under (`events` or `failed`). */
  records: LakeRecordKind;
  /** The edge dedupe markers and hot-tier claims, deleted for each record removed before its file is rewritten. */
  markers?: MessageMarkers;
}

/**
 * A rewrite's temp file: dot-prefixed and without a data suffix, so the warehouse loader never
 * lists it (as the delivery's own temp files), and told apart from the delivery's, which may be
 * in the middle of a write and are not the eraser's to remove.
 */
const TEMP_SUFFIX = '.erase.tmp';
const isEraseTemp = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

// Erasures of one folder run one after another in this process: two rewriting the same file at
// once would each write it from the old one, and the second would put back what the first removed.
const running = new Map<string, Promise<unknown>>();

/**
 * Removes a person's records from the local lake, one folder (`events`, `failed`) per eraser. Every
 * file is read; one holding none of the person's records is left as it is, byte for byte. One
 * holding some is written again without them into a temp file beside it, fsynced, then renamed over
 * it, so a crash leaves the old file or the new one, never part of either, and the next run removes
 * the temp file and finds what is left. A file left with no records is deleted.
 *
 * The warehouse loader keeps the paths it has loaded (`loaded_files`), and a rewrite keeps the path:
 * a file loaded before is not loaded again, so its other records are not duplicated, and one not
 * loaded yet is loaded once, without the person. The person's rows already in the warehouse are its
 * own eraser's to remove, after this one: a load reading a file while it is rewritten reads the old
 * one.
 */
export class LocalLakeEraser implements PersonEraser {
  readonly store: string;
  private readonly folder: string;
  private readonly records: LakeRecordKind;
  private readonly markers: MessageMarkers | undefined;

  constructor(options: LocalLakeEraserOptions) {
    this.records = options.records;
    this.markers = options.markers;
    this.store = `lake-${options.records}`;
    this.folder = path.resolve(options.rootDir, options.records);
  }

  /** Removes every record naming one of `ids` from the folder's files; idempotent. */
  erase(ids: readonly string[]): Promise<LakeErasureResult> {
    const previous = running.get(this.folder) ?? Promise.resolve();
    const run = previous.then(() => this.eraseNow(new PersonIds(ids)));
    // What the next erasure waits for: this one finishing, whether or not it failed.
    const settled = run.catch(() => undefined);
    running.set(this.folder, settled);
    void settled.then(() => {
      if (running.get(this.folder) === settled) running.delete(this.folder);
    });
    return run;
  }

  private async eraseNow(ids: PersonIds): Promise<LakeErasureResult> {
    const result: LakeErasureResult = {
      removed: 0,
      filesScanned: 0,
      filesRewritten: 0,
      filesDeleted: 0,
      bytesRewritten: 0,
      ...(this.markers === undefined ? {} : { markersRemoved: 0 }),
    };
    const eraser = PersonFileEraser.open(this.records, ids, { markers: this.markers });
    const failures: LakeFileFailure[] = [];
    try {
      const files = await this.listFiles(eraser);
      result.filesScanned = files.length;
      if (ids.size === 0) return { ...result, detail: 'no id to erase' };
      const { counts, unreadable } = await eraser.find(files);
      failures.push(...unreadable);
      for (const file of [...counts.keys()].sort()) {
        try {
          const { size } = await fs.stat(file);
          const { removed, kept, markersRemoved } = await this.rewrite(eraser, file);
          result.removed += removed;
          if (result.markersRemoved !== undefined) result.markersRemoved += markersRemoved;
          result.bytesRewritten += size;
          if (kept === 0) result.filesDeleted += 1;
          else result.filesRewritten += 1;
        } catch (error) {
          failures.push({ file, error });
        }
      }
    } finally {
      await eraser.close();
    }
    if (failures.length > 0) {
      const names = failures.map((f) => path.relative(this.folder, f.file));
      throw new LakeEraseError(
        `could not erase from ${failures.length} file(s) of lake ${this.records}: ${names.slice(0, 5).join(', ')}` +
          `${names.length > 5 ? ', …' : ''} (${result.removed} record(s) removed before that)`,
        'LAKE_ERASE_INCOMPLETE',
        { cause: failures[0]?.error, removed: result.removed },
      );
    }
    return { ...result, detail: describeErasure(result) };
  }

  /** The folder's data files, oldest partition first; leftover temp files of an interrupted rewrite are removed on the way. */
  private async listFiles(eraser: PersonFileEraser): Promise<string[]> {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (!entry.isFile()) continue;
        else if (isEraseTemp(entry.name)) await fs.rm(full, { force: true });
        else if (!entry.name.startsWith('.') && eraser.reads(entry.name)) files.push(full);
      }
    };
    await walk(this.folder);
    return files.sort();
  }

  /** Replaces `file` by itself without the person's records, or deletes it when nothing is left. */
  private async rewrite(eraser: PersonFileEraser, file: string): Promise<FileRewrite> {
    const dir = path.dirname(file);
    const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const rewritten = await eraser.rewrite(file, temp);
      if (rewritten.kept === 0) {
        await fs.rm(temp, { force: true });
        await fs.rm(file);
      } else {
        await syncFile(temp);
        await fs.rename(temp, file);
      }
      await syncDirectory(dir);
      return rewritten;
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  }
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
