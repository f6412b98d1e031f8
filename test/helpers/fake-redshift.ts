import {
  BatchExecuteStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  RedshiftDataClient,
} from '@aws-sdk/client-redshift-data';
import type { Field } from '@aws-sdk/client-redshift-data';
import { CopyObjectCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

/** What Redshift reports for a COPY that fails on the content of its file. */
export const LOAD_FAILED =
  "ERROR: Load into table 'staging_events' failed. Check 'sys_load_error_detail' system table for details.";

/** A row of `erasure_ids`; `erasedAt` is the number of the batch that stamped it. */
export interface ErasureIdRow {
  erasureId: string;
  id: string;
  hex: string;
  erasedAt: number | null;
}

/**
 * Redshift (Data API) and S3 (ListObjectsV2, CopyObject, DeleteObject) as far as the lake load needs
 * them, on aws-sdk-client-mock since neither has an emulator here. The fake keeps `lake_files`,
 * `erasure_ids` and the database users with their roles, and applies a BatchExecuteStatement all or
 * nothing, as Redshift's transaction does, so tests see what a run left recorded. Every call is kept
 * in `log`, in order.
 */
export class FakeRedshiftLake {
  readonly redshift = mockClient(RedshiftDataClient);
  readonly s3 = mockClient(S3Client);
  /** Keys recorded in lake_files. */
  readonly lakeFiles = new Set<string>();
  /** Database users besides the admin, each with the roles granted to it (CREATE USER, GRANT ROLE). */
  readonly users = new Map<string, Set<string>>();
  /** Rows of erasure_ids: written by an erasure's INSERT, stamped, cleared and dropped by batches. */
  readonly erasureIds: ErasureIdRow[] = [];
  /** Objects in the bucket. */
  objects: string[] = [];
  /** Keys per ListObjectsV2 page; small, so that tests paginate. */
  pageSize = 2;
  /**
   * Batches for which this returns true or an error message fail (DescribeStatement FAILED, with
   * the message, LOAD_FAILED for true) and change nothing.
   */
  failBatch: (sqls: string[]) => boolean | string = () => false;
  /** Rows for ExecuteStatements the fake does not answer itself. */
  rowsFor: (sql: string) => Array<Record<string, Field>> | undefined = () => undefined;
  /** `sql:<statement>`, `batch:<n statements>`, `list:<prefix>`, `copy:<from>-><to>`, `delete:<key>`, in call order. */
  readonly log: string[] = [];
  readonly batches: string[][] = [];
  readonly listCalls: Array<{ prefix: string; token: string | undefined }> = [];

  private readonly results = new Map<string, { error?: string; rows?: Array<Record<string, Field>> }>();

  constructor() {
    this.install();
  }

  reset(): void {
    this.redshift.reset();
    this.s3.reset();
    this.lakeFiles.clear();
    this.erasureIds.length = 0;
    this.users.clear();
    this.objects = [];
    this.failBatch = () => false;
    this.rowsFor = () => undefined;
    this.log.length = 0;
    this.batches.length = 0;
    this.listCalls.length = 0;
    this.results.clear();
    this.install();
  }

  restore(): void {
    this.redshift.restore();
    this.s3.restore();
  }

  private install(): void {
    let n = 0;
    this.redshift
      .on(ExecuteStatementCommand)
      .callsFake((input: { Sql: string; Parameters?: Array<{ name: string; value: string }> }) => {
        n += 1;
        const id = `st-${n}`;
        this.log.push(`sql:${input.Sql.trim().replace(/\s+/g, ' ')}`);
        this.insertErasureIds(input.Sql, input.Parameters ?? []);
        this.results.set(id, { rows: this.answer(input.Sql, input.Parameters ?? []) });
        return { Id: id };
      });
    this.redshift.on(BatchExecuteStatementCommand).callsFake((input: { Sqls: string[] }) => {
      n += 1;
      const id = `batch-${n}`;
      this.log.push(`batch:${input.Sqls.length}`);
      this.batches.push(input.Sqls);
      const refused = this.failBatch(input.Sqls);
      const failed = refused === false ? this.applyUserStatements(input.Sqls) : refused;
      if (failed === false) {
        for (const sql of input.Sqls) recordedKeys(sql).forEach((key) => this.lakeFiles.add(key));
        this.applyErasureIdStatements(input.Sqls, n);
      }
      this.results.set(id, failed === false ? {} : { error: failed === true ? LOAD_FAILED : failed });
      return { Id: id };
    });
    this.redshift.on(DescribeStatementCommand).callsFake((input: { Id: string }) => {
      const result = this.results.get(input.Id);
      return result?.error !== undefined
        ? { Status: 'FAILED', Error: result.error }
        : { Status: 'FINISHED', HasResultSet: result?.rows !== undefined };
    });
    this.redshift.on(GetStatementResultCommand).callsFake((input: { Id: string }) => {
      const rows = this.results.get(input.Id)?.rows ?? [];
      const names = Object.keys(rows[0] ?? {});
      return {
        ColumnMetadata: names.map((name) => ({ name })),
        Records: rows.map((row) => names.map((name) => row[name] ?? { isNull: true })),
      };
    });
    this.s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string; ContinuationToken?: string }) => {
      const prefix = input.Prefix ?? '';
      this.log.push(`list:${prefix}`);
      this.listCalls.push({ prefix, token: input.ContinuationToken });
      const matching = [...this.objects].sort().filter((key) => key.startsWith(prefix));
      const start = input.ContinuationToken === undefined ? 0 : Number(input.ContinuationToken);
      const page = matching.slice(start, start + this.pageSize);
      const more = start + this.pageSize < matching.length;
      return {
        Contents: page.map((key) => ({ Key: key, Size: 100 })),
        IsTruncated: more,
        NextContinuationToken: more ? String(start + this.pageSize) : undefined,
      };
    });
    this.s3.on(CopyObjectCommand).callsFake((input: { Bucket: string; Key: string; CopySource: string }) => {
      const source = decodeURIComponent(input.CopySource.slice(input.Bucket.length + 1));
      this.log.push(`copy:${source}->${input.Key}`);
      if (!this.objects.includes(source)) throw new Error(`NoSuchKey: ${source}`);
      if (!this.objects.includes(input.Key)) this.objects.push(input.Key);
      return {};
    });
    this.s3.on(DeleteObjectCommand).callsFake((input: { Key: string }) => {
      this.log.push(`delete:${input.Key}`);
      this.objects = this.objects.filter((key) => key !== input.Key);
      return {};
    });
  }

  /** An erasure's INSERT INTO erasure_ids, its values bound as `:erasure_id`, `:id<i>`, `:hex<i>`. */
  private insertErasureIds(sql: string, params: Array<{ name: string; value: string }>): void {
    if (!sql.startsWith('INSERT INTO erasure_ids')) return;
    const value = (name: string) => params.find((p) => p.name === name)?.value ?? '';
    for (const [, i] of sql.matchAll(/:id(\d+)/g)) {
      this.erasureIds.push({
        erasureId: value('erasure_id'),
        id: value(`id${i}`),
        hex: value(`hex${i}`),
        erasedAt: null,
      });
    }
  }

  /** What a committed batch does to erasure_ids; `time` is the batch's number, its SYSDATE. */
  private applyErasureIdStatements(sqls: string[], time: number): void {
    const keep = (test: (row: ErasureIdRow) => boolean) => {
      const kept = this.erasureIds.filter(test);
      this.erasureIds.splice(0, this.erasureIds.length, ...kept);
    };
    for (const sql of sqls) {
      const stamped = /^UPDATE erasure_ids SET erased_at = SYSDATE WHERE erasure_id = '([0-9a-f-]+)'$/.exec(
        sql,
      );
      if (stamped !== null) {
        for (const row of this.erasureIds) if (row.erasureId === stamped[1]) row.erasedAt = time;
      }
      if (sql === 'DELETE FROM erasure_ids WHERE erased_at IS NULL') keep((row) => row.erasedAt !== null);
      if (sql === 'DELETE FROM erasure_ids WHERE erased_at < SYSDATE') {
        keep((row) => row.erasedAt === null || row.erasedAt >= time);
      }
    }
  }

  /**
   * CREATE USER and GRANT ROLE as Redshift runs them: an existing user cannot be created again, a
   * missing one granted nothing. Changes nothing and returns the error when one fails.
   */
  private applyUserStatements(sqls: string[]): false | string {
    const users = new Map([...this.users].map(([user, roles]) => [user, new Set(roles)]));
    for (const sql of sqls) {
      const created = /^CREATE USER "([^"]+)" PASSWORD DISABLE$/.exec(sql)?.[1];
      if (created !== undefined) {
        if (users.has(created)) return `ERROR: user "${created}" already exists`;
        users.set(created, new Set());
      }
      const [, role, grantee] = /^GRANT ROLE (\w+) TO "([^"]+)"$/.exec(sql) ?? [];
      if (role !== undefined && grantee !== undefined) {
        const roles = users.get(grantee);
        if (roles === undefined) return `ERROR: user "${grantee}" does not exist`;
        roles.add(role);
      }
    }
    this.users.clear();
    users.forEach((roles, user) => this.users.set(user, roles));
    return false;
  }

  private answer(
    sql: string,
    params: Array<{ name: string; value: string }>,
  ): Array<Record<string, Field>> | undefined {
    if (/FROM pg_user/.test(sql) && /svv_user_grants/.test(sql)) {
      const reader = params.find((p) => p.name === 'user')?.value ?? '';
      const roles = this.users.get(reader);
      const role = /role_name = '(\w+)'/.exec(sql)?.[1] ?? '';
      return [
        {
          users: { longValue: roles === undefined ? 0 : 1 },
          grants: { longValue: roles?.has(role) === true ? 1 : 0 },
        },
      ];
    }
    if (/FROM lake_files\s*$/.test(sql) && /file_count/.test(sql)) {
      const partitions = [...this.lakeFiles].map((key) => key.split('/').slice(1, 5).join('/')).sort();
      const newest = partitions.at(-1);
      return [
        {
          file_count: { longValue: this.lakeFiles.size },
          newest_partition: newest === undefined ? { isNull: true } : { stringValue: newest },
        },
      ];
    }
    if (/^SELECT s3_key FROM lake_files/.test(sql)) {
      const patterns = params.map((p) => likePrefix(p.value));
      return [...this.lakeFiles]
        .filter((key) => patterns.length === 0 || patterns.some((prefix) => key.startsWith(prefix)))
        .map((key) => ({ s3_key: { stringValue: key } }));
    }
    return this.rowsFor(sql);
  }
}

/** The keys an `INSERT INTO lake_files` statement records, literals unquoted. */
export function recordedKeys(sql: string): string[] {
  if (!sql.startsWith('INSERT INTO lake_files')) return [];
  return [...sql.matchAll(/\('((?:[^'\\]|''|\\\\)*)', SYSDATE\)/g)].map((m) =>
    (m[1] ?? '').replace(/''/g, "'").replace(/\\\\/g, '\\'),
  );
}

/** The literal prefix of a `prefix%` LIKE pattern whose wildcards are backslash-escaped. */
function likePrefix(pattern: string): string {
  if (!pattern.endsWith('%')) throw new Error(`expected a prefix pattern, got ${pattern}`);
  return pattern.slice(0, -1).replace(/\\(.)/g, '$1');
}
