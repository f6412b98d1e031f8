import { buildSync } from 'esbuild';

/** A syntax error a grammar reports. */
export interface GrammarError {
  message: string;
  startLine: number;
  startColumn: number;
}

export interface SqlGrammar {
  validate(sql: string): GrammarError[];
}

type GrammarClass = new () => SqlGrammar;

let loaded: { trino: SqlGrammar; spark: SqlGrammar } | undefined;

/**
 * SQL grammars of dt-sql-parser, generated from the engines' own ANTLR grammars: Trino's, which
 * Athena's queries and DML follow, and Spark's, the closest to Athena's (Hive-based) DDL with
 * Iceberg's partition transforms. The package ships ES modules with extension-less imports, which
 * neither Node nor Jest loads as they are, so the two parsers are bundled once per test file with
 * esbuild (which already bundles the functions) and loaded from the bundle's text.
 */
export function sqlGrammars(): { trino: SqlGrammar; spark: SqlGrammar } {
  if (loaded !== undefined) return loaded;
  const bundle = buildSync({
    stdin: {
      contents: [
        "export { TrinoSQL } from 'dt-sql-parser/dist/parser/trino';",
        "export { SparkSQL } from 'dt-sql-parser/dist/parser/spark';",
      ].join('\n'),
      resolveDir: process.cwd(),
    },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    write: false,
    logLevel: 'silent',
  });
  const module = { exports: {} as { TrinoSQL?: GrammarClass; SparkSQL?: GrammarClass } };
  // CommonJS code of a dependency, evaluated as Node evaluates a file of it.
  new Function('module', 'exports', 'require', bundle.outputFiles[0]?.text ?? '')(
    module,
    module.exports,
    require,
  );
  const { TrinoSQL, SparkSQL } = module.exports;
  if (TrinoSQL === undefined || SparkSQL === undefined)
    throw new Error('dt-sql-parser lacks its Trino or Spark parser');
  loaded = { trino: new TrinoSQL(), spark: new SparkSQL() };
  return loaded;
}
