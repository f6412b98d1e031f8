import { BatchExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import { personErasure } from '../../src/sinks/warehouse/person-erasure';
import { RedshiftDataApi } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import { MAX_STATEMENTS_PER_BATCH } from '../../src/sinks/warehouse/redshift/redshift-lake-copy';
import { REDSHIFT_DIALECT } from '../../src/sinks/warehouse/dialect';
import { erasureBatch, mergeBatch } from '../../src/sinks/warehouse/redshift/redshift-sql';
import { RedshiftWarehouse } from '../../src/sinks/warehouse/redshift/redshift-warehouse';
import { WarehousePersonEraser } from '../../src/sinks/warehouse/warehouse-person-eraser';
import { FakeRedshiftLake } from '../helpers/fake-redshift';

const fake = new FakeRedshiftLake();
afterAll(() => fake.restore());
beforeEach(() => fake.reset());

/** Ids handed out in order: each erasure and each load takes the next. */
const IDS = [
  '11111111-1111-4111-8111-111111111111',
  '22222222-2222-4222-8222-222222222222',
  '33333333-3333-4333-8333-333333333333',
];
const ALICE = ['alice', 'device-a', 'zoë'];

function warehouse(options: Partial<ConstructorParameters<typeof RedshiftWarehouse>[0]> = {}) {
  let next = 0;
  const api = new RedshiftDataApi({
    client: new RedshiftDataClient({ region: 'eu-west-1' }),
    workgroupName: 'analytics',
    database: 'tributary',
    sleep: async () => undefined,
  });
  return new RedshiftWarehouse({ api, newLoadId: () => IDS[next++] as string, ...options });
}

/** erasure_log's answer for an erasure: what it removed. */
function erasureLog(counts: Record<string, number>): void {
  fake.rowsFor = (sql) =>
    /FROM erasure_log WHERE erasure_id = :erasure_id/.test(sql)
      ? [Object.fromEntries(Object.entries(counts).map(([column, n]) => [column, { longValue: n }]))]
      : undefined;
}

const COUNTS = {
  events: 7,
  failed_events: 2,
  identity_claims: 1,
  user_ids: 1,
  identities: 1,
  user_numbers: 0,
};

describe('erasing a person from Redshift', () => {
  it('binds the ids in one statement, erases them in one transaction, and reads what went from the log', async () => {
    erasureLog(COUNTS);
    const eraser = new WarehousePersonEraser(warehouse());
    await expect(eraser.erase(ALICE)).resolves.toEqual({
      removed: 12,
      detail: 'events 7, failed_events 2, identity_claims 1, user_ids 1, identities 1, user_numbers 0',
    });

    const statements = fake.log.filter((entry) => entry.startsWith('sql:'));
    expect(statements).toEqual([
      `sql:INSERT INTO erasure_ids (erasure_id, id, hex) VALUES (:erasure_id, :id0, :hex0), (:erasure_id, :id1, :hex1), (:erasure_id, :id2, :hex2), (:erasure_id, :id3, :hex3)`,
      expect.stringMatching(
        /^sql:SELECT events, failed_events, .* FROM erasure_log WHERE erasure_id = :erasure_id$/,
      ),
    ]);
    // Each id as UTF-8, and zoë as the Latin-1 bytes a payload that was not UTF-8 holds it in.
    expect(fake.erasureIds.map(({ id, hex }) => [id, hex])).toEqual([
      ['alice', '616c696365'],
      ['device-a', '6465766963652d61'],
      ['zoë', '7a6fc3ab'],
      ['zoë', '7a6feb'],
    ]);
    expect(fake.batches).toEqual([erasureBatch(IDS[0] as string, DEFAULT_IDENTITY_RULES)]);
    const batch = fake.batches[0] ?? [];
    expect(batch.length).toBeLessThanOrEqual(MAX_STATEMENTS_PER_BATCH);
    // The ids travel only as parameters: the transaction names them by the erasure's id.
    for (const id of ALICE) expect(batch.join('\n')).not.toContain(id);
    expect(batch.slice(0, 2)).toEqual([
      `UPDATE erasure_ids SET erased_at = SYSDATE WHERE erasure_id = '${IDS[0]}'`,
      `CREATE TEMP TABLE erasure_subject AS SELECT DISTINCT CAST(id AS VARCHAR(256)) AS id, hex FROM erasure_ids WHERE erasure_id = '${IDS[0]}'`,
    ]);
    expect(batch).toEqual(expect.arrayContaining(personErasure(REDSHIFT_DIALECT, DEFAULT_IDENTITY_RULES)));
    const deletes = batch
      .filter((sql) => /^\s*DELETE FROM /.test(sql))
      .map((sql) => sql.trim().split(/\s+/)[2]);
    expect(new Set(deletes)).toEqual(
      new Set(['identity_claims', 'events', 'user_ids', 'failed_events', 'identities', 'erasure_ids']),
    );
    // The ids stay, stamped, as tombstones for the next merge.
    expect(fake.erasureIds.every((row) => row.erasedAt !== null)).toBe(true);
  });

  it('leaves nothing but its ids when the transaction fails mid-way, and a retry clears them and erases', async () => {
    erasureLog(COUNTS);
    const redshift = warehouse();
    fake.failBatch = (sqls) =>
      sqls.some((sql) => sql.startsWith('UPDATE erasure_ids')) &&
      'ERROR: 1023 Serializable isolation violation';
    const failure: unknown = await redshift.erasePerson(ALICE).then(
      () => new Error('the erasure did not fail'),
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'WAREHOUSE_ERASURE_FAILED',
      cause: expect.objectContaining({ code: 'WAREHOUSE_STATEMENT_FAILED' }),
    });
    // Kept on the deletion request: it names the kind of failure, never the person.
    for (const id of ALICE) expect((failure as Error).message).not.toContain(id);
    expect(fake.erasureIds.map((row) => [row.erasureId, row.erasedAt])).toEqual(
      ALICE.concat('zoë').map(() => [IDS[0], null]),
    );

    // The retry writes its own ids; its transaction stamps them and drops the unstamped ones.
    fake.failBatch = () => false;
    await expect(redshift.erasePerson(ALICE)).resolves.toMatchObject({ events: 7 });
    expect(fake.erasureIds.map((row) => row.erasureId)).toEqual(ALICE.concat('zoë').map(() => IDS[1]));
    expect(fake.batches.at(-1)).toEqual(erasureBatch(IDS[1] as string, DEFAULT_IDENTITY_RULES));
  });

  it('does not wake the workgroup for ids that name nobody', async () => {
    await expect(warehouse().erasePerson(['', '  '])).resolves.toEqual({
      events: 0,
      failedEvents: 0,
      identityClaims: 0,
      userIds: 0,
      identities: 0,
      userNumbers: 0,
    });
    expect(fake.log).toEqual([]);
  });

  it('keeps the tombstones until a merge that started after the erasure, which drops staged rows naming them first', async () => {
    erasureLog(COUNTS);
    const redshift = warehouse();
    await redshift.erasePerson(ALICE);
    await redshift.loadNew();
    expect(fake.erasureIds).toEqual([]);

    const merge = fake.batches.at(-1) ?? [];
    expect(merge).toEqual(mergeBatch(IDS[1] as string, DEFAULT_IDENTITY_RULES));
    const at = (prefix: string) => merge.findIndex((sql) => sql.trimStart().startsWith(prefix));
    // Staged events and failed events naming an erased id, received before the erasure, never land.
    expect(at('DELETE FROM merge_events')).toBeGreaterThan(at('CREATE TEMP TABLE merge_events'));
    expect(at('DELETE FROM merge_events')).toBeLessThan(at('INSERT INTO events'));
    expect(merge[at('DELETE FROM merge_events')]).toMatch(/m\.received_at <= x\.erased_at/);
    expect(at('DELETE FROM merge_failed')).toBeGreaterThan(at('CREATE TEMP TABLE merge_failed'));
    expect(at('DELETE FROM merge_failed')).toBeLessThan(at('INSERT INTO failed_events'));
    expect(merge.at(-1)).toBe('DELETE FROM erasure_ids WHERE erased_at < SYSDATE');
  });

  it('a merge that fails keeps the tombstones for the next one', async () => {
    erasureLog(COUNTS);
    const redshift = warehouse();
    await redshift.erasePerson(ALICE);
    fake.failBatch = (sqls) =>
      sqls.includes('DELETE FROM staging_events') && 'ERROR: 1023 Serializable isolation violation';
    await expect(redshift.loadNew()).rejects.toMatchObject({ code: 'WAREHOUSE_LOAD_FAILED' });
    expect(fake.erasureIds).toHaveLength(4);
    fake.failBatch = () => false;
    await redshift.loadNew();
    expect(fake.erasureIds).toEqual([]);
  });
});

describe('the Redshift retention purge', () => {
  const NOW = new Date('2025-06-10T15:00:00.000Z');

  it('runs in every merge, before identities are recomputed, and reports what it purged', async () => {
    fake.rowsFor = (sql) =>
      /FROM load_log WHERE load_id/.test(sql)
        ? [
            {
              inserted_events: { longValue: 3 },
              inserted_failed: { longValue: 0 },
              purged_events: { longValue: 40 },
              purged_failed: { longValue: 5 },
            },
          ]
        : undefined;
    const redshift = warehouse({ retention: { eventsDays: 395, failedEventsDays: 30 }, now: () => NOW });
    await expect(redshift.loadNew()).resolves.toMatchObject({
      rows: 3,
      purged: { events: 40, failedEvents: 5 },
    });
    const merge = fake.redshift.commandCalls(BatchExecuteStatementCommand)[0]?.args[0].input.Sqls ?? [];
    expect(merge.length).toBeLessThanOrEqual(MAX_STATEMENTS_PER_BATCH);
    const text = merge.join('\n');
    // Whole UTC days: 395 and 30 days before the start of 2025-06-10.
    expect(text).toContain("event_time < CAST('2024-05-11T00:00:00.000Z' AS TIMESTAMPTZ)");
    expect(text).toContain(
      "DELETE FROM failed_events WHERE coalesce(received_at, loaded_at) < CAST('2025-05-11T00:00:00.000Z' AS TIMESTAMPTZ)",
    );
    const at = (prefix: string) => merge.findIndex((sql) => sql.trimStart().startsWith(prefix));
    expect(at('CREATE TEMP TABLE removed_events')).toBeGreaterThan(at('INSERT INTO events'));
    expect(at('CREATE TEMP TABLE removed_events')).toBeLessThan(at('CREATE TEMP TABLE identity_links'));
    expect(merge[at('INSERT INTO load_log')]).toMatch(
      /\(SELECT events FROM purge_counts\), \(SELECT failed_events FROM purge_counts\)/,
    );
  });
});
