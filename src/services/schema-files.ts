import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { SchemaRegistryError } from '../events/errors';
import { SchemaRegistry, type SchemaDocument, type SchemaRegistryOptions } from '../events/schema-registry';

/**
 * The schema folder on disk: read once at start-up, here rather than in the event domain, which
 * does no I/O and takes the documents as they are.
 */
const SCHEMA_FILE = /^(.+)\.json$/;

/** Reads `<dir>/<event>/<version>.json` files; a malformed file fails loudly at start-up. */
export function readSchemaDirectory(dir: string): SchemaDocument[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new SchemaRegistryError(`schema directory ${dir} does not exist`, 'SCHEMA_DIRECTORY_NOT_FOUND');
  const documents: SchemaDocument[] = [];
  for (const event of readdirSync(dir).sort()) {
    const eventDir = path.join(dir, event);
    if (!statSync(eventDir).isDirectory()) continue;
    for (const file of readdirSync(eventDir).sort()) {
      const match = SCHEMA_FILE.exec(file);
      if (match === null) continue;
      const full = path.join(eventDir, file);
      let schema: unknown;
      try {
        schema = JSON.parse(readFileSync(full, 'utf8'));
      } catch (cause) {
        throw new SchemaRegistryError(`${full} is not valid JSON`, 'SCHEMA_FILE_INVALID', { cause });
      }
      documents.push({ event, version: match[1] ?? '', schema });
    }
  }
  return documents;
}

/**
 * The project's `schemas/` folder: the nearest one above this module, which holds for `src/`
 * under tsx and jest, for `dist/`, and for a Lambda bundle that ships the folder beside it.
 */
export function findSchemasDir(start = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'schemas');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (path.dirname(dir) === dir)
      throw new SchemaRegistryError(
        `no schemas/ folder above ${start}; set TRIBUTARY_SCHEMAS_DIR`,
        'SCHEMA_DIRECTORY_NOT_FOUND',
      );
  }
}

const shared = new Map<string, SchemaRegistry>();

/** One registry per folder and policy per process, so ajv compiles each schema once. */
export function loadSchemaRegistry(
  dir: string = findSchemasDir(),
  options: SchemaRegistryOptions = { unknownEvents: 'accept' },
): SchemaRegistry {
  const key = `${path.resolve(dir)}\0${options.unknownEvents}\0${options.checkedAhead === true}`;
  let registry = shared.get(key);
  if (registry === undefined)
    shared.set(key, (registry = new SchemaRegistry(readSchemaDirectory(dir), options)));
  return registry;
}

/** The schema registry the configuration asks for (one per process). */
export function schemaRegistryFromConfig(config: Pick<Config, 'events'>): SchemaRegistry {
  return loadSchemaRegistry(config.events.schemasDir ?? findSchemasDir(), {
    unknownEvents: config.events.unknownEvents,
    checkedAhead: config.events.schemasCheckedAhead,
  });
}

/**
 * Every check a schema folder gets, at once: JSON, names and versions, JSON Schema's meta-schema,
 * item and `x-pii` declarations, and compiling every version. What the CDK app runs on the folder
 * it bundles, so a deployed function may take the same files `checkedAhead`.
 */
export function checkSchemaDirectory(dir: string): void {
  new SchemaRegistry(readSchemaDirectory(dir), { unknownEvents: 'accept' }).compileAll();
}
