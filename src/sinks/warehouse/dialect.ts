/**
 * The only SQL that differs between DuckDB (embedded) and Redshift (AWS). Analytics queries are
 * written once in warehouse-queries.ts against this interface, so both engines answer the same
 * questions with the same numbers.
 */
export interface SqlDialect {
  readonly name: 'duckdb' | 'redshift';
  /** A named placeholder; the value is bound by the driver, never spliced into the SQL. */
  param(name: string): string;
  /** A bound ISO-8601 parameter as a timestamp with time zone. */
  timestampParam(name: string): string;
  /** A bound parameter as a 64-bit integer (every parameter is sent as text, as the Data API requires). */
  bigintParam(name: string): string;
  /** Milliseconds since the epoch of a TIMESTAMPTZ expression, as BIGINT. */
  epochMs(expr: string): string;
  /** A JSON (DuckDB) or SUPER (Redshift) column as JSON text. */
  jsonText(column: string): string;
  /**
   * The `events` column that identifies the person analytics count (userId, else anonymousId): the
   * same people in both engines, in whatever form the engine counts fastest.
   */
  readonly userColumn: string;
  /**
   * A table the loader keeps with one row per UTC day, event and person (`day_ms`, `event`, the
   * user column as `user_num`, and their number of `events`), from which eventCounts by day and
   * event reads whole days instead of deduplicating people over `events`. Without it, every count
   * reads `events`.
   */
  readonly eventUserDays?: string;
}

export const DUCKDB_DIALECT: SqlDialect = {
  name: 'duckdb',
  param: (name) => `$${name}`,
  timestampParam: (name) => `CAST($${name} AS TIMESTAMPTZ)`,
  bigintParam: (name) => `CAST($${name} AS BIGINT)`,
  epochMs: (expr) => `epoch_ms(${expr})`,
  jsonText: (column) => `CAST(${column} AS VARCHAR)`,
  // A dense integer per user_key (migration 6): counting distinct integers is several times faster.
  userColumn: 'user_num',
  // Kept by the loader (migration 7).
  eventUserDays: 'event_user_days',
};

export const REDSHIFT_DIALECT: SqlDialect = {
  name: 'redshift',
  param: (name) => `:${name}`,
  timestampParam: (name) => `CAST(:${name} AS TIMESTAMPTZ)`,
  bigintParam: (name) => `CAST(:${name} AS BIGINT)`,
  // DATE_PART(epoch) drops or rounds the fraction depending on the type, so seconds are floored
  // and the milliseconds added from DATE_PART(ms), which returns seconds * 1000 + milliseconds with
  // the microseconds as a fraction. That is floored too: a CAST rounds, and 59.9996 s would round to
  // 60000 ms, which % 1000 makes 0, a second early.
  epochMs: (expr) =>
    `(CAST(FLOOR(DATE_PART(epoch, ${expr})) AS BIGINT) * 1000 + CAST(FLOOR(DATE_PART(ms, ${expr})) AS BIGINT) % 1000)`,
  jsonText: (column) => `JSON_SERIALIZE(${column})`,
  userColumn: 'user_key',
};
