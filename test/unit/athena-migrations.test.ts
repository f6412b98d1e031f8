import { createHash } from 'node:crypto';
import { ATHENA_MIGRATIONS, createSchemaMigrations } from '../../src/sinks/warehouse/athena/athena-sql';

/**
 * Migrations are append-only: a stage that applied one never runs it again, so what an applied
 * migration creates must keep meaning what it meant. Layout is free (white space, and where a line
 * breaks next to a parenthesis or comma, mean nothing to Athena), so the statements are compared
 * folded, by a hash of what they were when applied: a changed column, type, partition, location or
 * table property fails here and asks for a new migration instead.
 */
const fold = (sql: string): string =>
  sql
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .trim();

const TABLES_LOCATION = 's3://tables-bucket/warehouse/';

describe('Athena migrations', () => {
  it('keep the schema table and migration 1 as they were applied, layout aside', () => {
    const [first] = ATHENA_MIGRATIONS;
    expect(first?.version).toBe(1);
    const statements = [
      createSchemaMigrations(TABLES_LOCATION),
      ...(first?.statements(TABLES_LOCATION) ?? []),
    ];
    const hash = createHash('sha256').update(statements.map(fold).join('\n')).digest('hex');
    expect(hash).toBe('01ccfb056df9c10c65e7c5c9bf185569187a1c0ca4b15a0ca8147503e867f19b');
  });

  it('fold layout only: a one-column table reads the same however its lines break', () => {
    const oneLine = `CREATE TABLE IF NOT EXISTS user_ids (user_id string)\n      LOCATION 's3://b/user_ids/'`;
    const broken = `CREATE TABLE IF NOT EXISTS user_ids (\n        user_id string\n      )\n      LOCATION 's3://b/user_ids/'`;
    expect(fold(broken)).toBe(fold(oneLine));
    expect(fold(broken)).not.toBe(fold(oneLine.replace('string', 'bigint')));
  });
});
