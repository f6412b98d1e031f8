/**
 * The only SQL that differs between DuckDB (embedded) and Redshift or Athena (AWS). Analytics
 * queries are written once in queries.ts against this interface, so every engine answers the same
 * questions with the same numbers.
 */
export interface SqlDialect {
  readonly name: 'duckdb' | 'redshift' | 'athena';
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
  /**
   * The `identities` column that holds an id in the form of `userColumn` (events join on it), and
   * the one that holds the id's person in the same form: what PERSON analytics count.
   */
  readonly identityKey: string;
  readonly identityPerson: string;
  /**
   * Where the loader finds `userColumn`'s value for a user key (`user_key` → `user_num`), when the
   * two differ: `identities` then keeps the ids' and persons' values in `identityKey` and
   * `identityPerson` beside their text.
   */
  readonly userNumbers?: string;
  /** The text of a string field of a JSON (DuckDB) or SUPER (Redshift) value; NULL when absent or not a string. */
  jsonStringField(value: string, key: string): string;
  /** Any text as an SQL string expression: for values the SQL is built from, never for client input. */
  literal(value: string): string;
  /** `text` with every character of the SQL string `characters` removed from both ends. */
  trim(text: string, characters: string): string;
  /** A temporary table of a query's rows, replacing one of the name left by an earlier failed run. */
  tempTable(name: string, query: string): string;
  /** Whether `text` is a JSON object; false (never an error) for anything else. */
  isJsonObject(text: string): string;
  /**
   * The text of the field at `path` (plain names) of `text`, a JSON object (checked first, with
   * isJsonObject): a string as it is, a number as its digits; NULL or empty when missing.
   */
  jsonObjectField(text: string, path: readonly string[]): string;
  /** The bytes a base64 text holds, as lowercase hex digits. */
  base64Hex(text: string): string;
}

/** A JSON path of plain names, the only kind the SQL is built with. */
function jsonPath(path: readonly string[]): readonly string[] {
  if (path.length === 0 || !path.every((key) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(key))) {
    throw new Error(`JSON paths are plain names: ${JSON.stringify(path)}`);
  }
  return path;
}

/**
 * Any text as an SQL string literal the same in both engines: quotes doubled, backslashes kept by
 * `quote` (Redshift reads a backslash as an escape, DuckDB does not), control characters spelled
 * with CHR, which no literal can hold safely.
 */
function literalOf(value: string, quote: (text: string) => string): string {
  const parts: string[] = [];
  let run = '';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f) {
      if (run !== '') parts.push(quote(run));
      run = '';
      parts.push(`CHR(${code})`);
    } else {
      run += char;
    }
  }
  if (run !== '' || parts.length === 0) parts.push(quote(run));
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(' || ')})`;
}

/** A string literal of `value` in DuckDB, where a backslash is an ordinary character. */
export const duckDbLiteral = (value: string): string =>
  literalOf(value, (text) => `'${text.replace(/'/g, "''")}'`);

/** A string literal of `value` in Redshift, which reads a backslash as an escape (as QUOTE_LITERAL does). */
export const redshiftLiteral = (value: string): string =>
  literalOf(value, (text) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`);

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
  // Integers again (migration 10): events join identities and count persons as user numbers.
  identityKey: 'id_num',
  identityPerson: 'person_num',
  userNumbers: 'user_numbers',
  literal: (value) => duckDbLiteral(value),
  jsonStringField: (value, key) =>
    `CASE WHEN json_type(${value}, '$.${key}') = 'VARCHAR' THEN json_extract_string(${value}, '$.${key}') END`,
  trim: (text, characters) => `trim(${text}, ${characters})`,
  tempTable: (name, query) => `CREATE OR REPLACE TEMP TABLE ${name} AS ${query}`,
  // json_type fails on text that is not JSON, so it is asked only once json_valid said yes.
  isJsonObject: (text) => `CASE WHEN json_valid(${text}) THEN json_type(${text}) = 'OBJECT' ELSE false END`,
  jsonObjectField: (text, path) => `json_extract_string(${text}, '$.${jsonPath(path).join('.')}')`,
  // try: a damaged value reads as NULL rather than failing the whole statement.
  base64Hex: (text) => `lower(hex(try(from_base64(${text}))))`,
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
  identityKey: 'id',
  identityPerson: 'person_id',
  literal: (value) => redshiftLiteral(value),
  // Cut to the width of the id columns, as the merge cuts user_id and anonymous_id, so that an id
  // too long for them still names the same (cut) id.
  jsonStringField: (value, key) =>
    `CASE WHEN IS_VARCHAR(${value}."${key}") THEN CAST(CAST(${value}."${key}" AS VARCHAR) AS VARCHAR(256)) END`,
  trim: (text, characters) => `BTRIM(${text}, ${characters})`,
  // A temporary table lives as long as the session, and every Data API call is a session of its own.
  tempTable: (name, query) => `CREATE TEMP TABLE ${name} AS ${query}`,
  // IS_VALID_JSON takes any JSON value; an object is the one that starts with a brace.
  isJsonObject: (text) => `(IS_VALID_JSON(${text}) AND ${text} ~ '^[[:space:]]*[{]')`,
  // The last argument: NULL rather than an error for text that is not JSON.
  jsonObjectField: (text, path) =>
    `JSON_EXTRACT_PATH_TEXT(${text}, ${jsonPath(path)
      .map((key) => `'${key}'`)
      .join(', ')}, true)`,
  base64Hex: (text) => `LOWER(FROM_VARBYTE(TO_VARBYTE(${text}, 'base64'), 'hex'))`,
};
