import { DuckDBInstance } from '@duckdb/node-api';
import { DEFAULT_IDENTITY_RULES, identityRules } from '../../src/events/identity';
import {
  DUCKDB_DIALECT,
  REDSHIFT_DIALECT,
  duckDbLiteral,
  redshiftLiteral,
} from '../../src/sinks/warehouse/dialect';
import { TRIMMED_CHARACTERS, identityFold, recomputeIdentities } from '../../src/sinks/warehouse/identities';
import { WarehouseQueries, type SqlQuery } from '../../src/sinks/warehouse/queries';
import { MAX_STATEMENTS_PER_BATCH } from '../../src/sinks/warehouse/redshift/redshift-lake-copy';
import { REDSHIFT_MIGRATIONS, mergeBatch } from '../../src/sinks/warehouse/redshift/redshift-sql';
import type { IdentityMode } from '../../src/sinks/warehouse/port';

const LOAD_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** The statements the analytics queries send on an engine, for both identity modes. */
async function analyticsSql(dialect: typeof DUCKDB_DIALECT, identity: IdentityMode): Promise<string[]> {
  const sent: SqlQuery[] = [];
  const queries = new WarehouseQueries(dialect, (query) => {
    sent.push(query);
    return Promise.resolve([]);
  });
  const range = { from: new Date('2024-05-01T00:00:00Z'), to: new Date('2024-05-08T00:00:00Z'), identity };
  await queries.eventCounts({ ...range, granularity: 'WEEK', groupBy: ['EVENT'] });
  await queries.uniqueUsers({ ...range, event: 'order_completed' });
  await queries.funnel({ ...range, steps: ['product_viewed', 'order_completed'], windowHours: 24 });
  await queries.retention({
    ...range,
    startEvent: 'page_viewed',
    returnEvent: 'order_completed',
    period: 'DAY',
  });
  return sent.map((query) => query.sql);
}

/** DuckDB's SQL in Redshift's spelling, where only the dialect differs. */
const asRedshift = (sql: string): string =>
  sql
    .replace(/CAST\(\$(\w+) AS/g, 'CAST(:$1 AS')
    .replace(/\$(\w+)/g, ':$1')
    .replace(/epoch_ms\((\w+)\)/g, (_, expr: string) => REDSHIFT_DIALECT.epochMs(expr))
    .replace(/\bid_num\b/g, 'id')
    .replace(/\bperson_num\b/g, 'person_id')
    .replace(/\buser_num\b/g, 'user_key');

describe('identity SQL', () => {
  it('trims ids with exactly the characters String.prototype.trim removes', () => {
    const trimmed: number[] = [];
    for (let code = 0; code <= 0xffff; code += 1) {
      if (String.fromCharCode(code).trim() === '') trimmed.push(code);
    }
    expect([...TRIMMED_CHARACTERS].sort((a, b) => a - b)).toEqual(trimmed);
  });

  it('writes any text as a literal each engine reads back unchanged, control characters included', async () => {
    const text = "o'brien\\x\t\u2028end";
    expect(duckDbLiteral(text)).toBe("('o''brien\\x' || CHR(9) || '\u2028end')");
    expect(redshiftLiteral(text)).toBe("('o''brien\\\\x' || CHR(9) || '\u2028end')");
    expect(duckDbLiteral('')).toBe("''");
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT ${duckDbLiteral(text)} AS t`);
      expect(reader.getRowObjectsJS()).toEqual([{ t: text }]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('splices only checked integers and quoted junk ids into the recompute', () => {
    const rules = identityRules({ extraJunkIds: ["x') OR ('1'='1"], maxAnonymousIds: 7, maxMergedUsers: 3 });
    const sql = recomputeIdentities(REDSHIFT_DIALECT, rules).join('\n');
    expect(sql).toContain(redshiftLiteral("x') or ('1'='1"));
    expect(sql).toContain('CASE WHEN r.merges_users THEN 3 ELSE 7 END');
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => recomputeIdentities(DUCKDB_DIALECT, { ...rules, maxAnonymousIds: bad })).toThrow(
        RangeError,
      );
    }
    // No junk id at all: every id may link.
    const none = recomputeIdentities(DUCKDB_DIALECT, { ...rules, junkIds: new Set() }).join('\n');
    expect(none).not.toContain('NOT IN');
  });

  it('is the same SQL for both engines but for the dialect, and DuckDB keeps the user numbers beside it', () => {
    const duck = recomputeIdentities(DUCKDB_DIALECT, DEFAULT_IDENTITY_RULES);
    const redshift = recomputeIdentities(REDSHIFT_DIALECT, DEFAULT_IDENTITY_RULES);
    expect(duck).toHaveLength(redshift.length);
    const numbering =
      / LEFT JOIN user_numbers ni ON ni\.user_key = r\.id LEFT JOIN user_numbers np ON np\.user_key = r\.person_id|, id_num, person_num|, ni\.user_num, np\.user_num/g;
    expect(duck.join('\n').match(numbering)).toHaveLength(3);
    const spelled = duck.map((sql) =>
      sql
        .replace(numbering, '')
        .replace('CREATE OR REPLACE TEMP TABLE', 'CREATE TEMP TABLE')
        .replace(/trim\(/g, 'BTRIM('),
    );
    expect(spelled).toEqual(redshift);

    const fold = (dialect: typeof DUCKDB_DIALECT) => identityFold(dialect, 'merge_events').map((s) => s.sql);
    expect(
      fold(DUCKDB_DIALECT).map((sql) =>
        sql
          .replace('CREATE OR REPLACE TEMP TABLE', 'CREATE TEMP TABLE')
          .replaceAll(DUCKDB_DIALECT.jsonStringField('s.properties', 'previous_id'), 'PREVIOUS_ID'),
      ),
    ).toEqual(
      fold(REDSHIFT_DIALECT).map((sql) =>
        sql.replaceAll(REDSHIFT_DIALECT.jsonStringField('s.properties', 'previous_id'), 'PREVIOUS_ID'),
      ),
    );
  });

  it('counts persons in the same queries on both engines, joining identities only for PERSON', async () => {
    const duck = await analyticsSql(DUCKDB_DIALECT, 'PERSON');
    const redshift = await analyticsSql(REDSHIFT_DIALECT, 'PERSON');
    expect(duck.map(asRedshift)).toEqual(redshift);
    for (const sql of redshift) {
      expect(sql).toContain('events LEFT JOIN identities p ON p.id = events.user_key');
      expect(sql).toContain('coalesce(p.person_id, events.user_key)');
    }
    const raw = await analyticsSql(REDSHIFT_DIALECT, 'RAW_ID');
    for (const sql of raw) expect(sql).not.toContain('identities');
    expect((await analyticsSql(DUCKDB_DIALECT, 'RAW_ID')).map(asRedshift)).toEqual(raw);
  });
});

describe('identities on Redshift', () => {
  const merge = mergeBatch(LOAD_ID, identityRules({ maxAnonymousIds: 5 }));

  it('folds the merged events into the claims and recomputes identities in the merge transaction', () => {
    expect(merge.length).toBeLessThanOrEqual(MAX_STATEMENTS_PER_BATCH);
    const at = (prefix: string) => merge.findIndex((sql) => sql.trimStart().startsWith(prefix));
    const fold = identityFold(REDSHIFT_DIALECT, 'merge_events').map((s) => s.sql);
    const recompute = recomputeIdentities(REDSHIFT_DIALECT, identityRules({ maxAnonymousIds: 5 }));
    const insertEvents = at('INSERT INTO events');
    expect(merge.slice(insertEvents + 1, insertEvents + 1 + fold.length + recompute.length)).toEqual([
      ...fold,
      ...recompute,
    ]);
    expect(at('CREATE TEMP TABLE merge_failed')).toBe(insertEvents + 1 + fold.length + recompute.length);
  });

  it('claims what claimsOf claims from a merged row: its anonymousId, and an alias its previous_id', () => {
    const claims = merge.find((sql) => sql.startsWith('CREATE TEMP TABLE load_claims')) ?? '';
    // The alias's previous id, only when it is a string, cut to the id columns' width.
    expect(claims).toContain(
      `CASE WHEN s.event = 'alias' THEN CASE WHEN IS_VARCHAR(s.properties."previous_id") THEN CAST(CAST(s.properties."previous_id" AS VARCHAR) AS VARCHAR(256)) END END`,
    );
    expect(claims).toContain('FROM merge_events s');
    expect(claims).toContain('previous_id <> user_id');
    expect(claims).toContain('AND (previous_id IS NULL OR previous_id <> anonymous_id)');
    expect(claims).toMatch(/false AS merges_users/);
    // The earliest claim per person, id and class, by edge time then messageId.
    expect(claims).toContain('PARTITION BY person, id, merges_users ORDER BY received_at, message_id');
  });

  it('links only owners within their cap that are not ordinary claims on a userId, and resolves three links', () => {
    const links = merge.find((sql) => sql.startsWith('CREATE TEMP TABLE identity_links')) ?? '';
    expect(links).toContain('PARTITION BY k.id ORDER BY k.received_at, k.message_id) AS owner_rank');
    expect(links).toContain('WHERE k.merges_users OR NOT k.is_user');
    expect(links).toContain('WHERE r.owner_rank = 1');
    expect(links).toContain('CASE WHEN r.merges_users THEN 20 ELSE 5 END');

    expect(links).toContain(`lower(BTRIM(c.person, `);
    const insert = merge.find((sql) => sql.startsWith('INSERT INTO identities')) ?? '';
    expect(insert).toContain('LEFT JOIN identity_links l2 ON l2.id = l1.person');
    expect(insert).toContain('LEFT JOIN identity_links l3 ON l3.id = l2.person');
    expect(insert).not.toContain('l4');
  });

  it('creates the identity tables in a new migration, filled from the events merged before', () => {
    const migration = REDSHIFT_MIGRATIONS.find((m) => m.name === 'identities');
    expect(migration?.statements.slice(3)).toEqual(
      identityFold(REDSHIFT_DIALECT, 'events').map((s) => s.sql),
    );
    expect(migration?.statements[2]).toMatch(/CREATE TABLE identities[\s\S]*DISTKEY \(id\)/);
  });
});
