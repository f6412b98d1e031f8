import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { EVENT_NAME_PATTERN } from './envelope-rules';
import { SchemaRegistryError } from './errors';
import {
  ITEM_LIST_KEYWORD,
  ITEM_PROPERTY_KEYWORD,
  readItemDeclaration,
  type ItemDeclaration,
} from './event-items';
import { isPseudonym } from './enrich/pii';
import { escapePointer } from './json-pointer';
import { markedValueOn, piiMarksOf, type PiiMarks } from './pii-marks';
import { compareSchemaVer, formatSchemaVer, parseSchemaVer, type SchemaVer } from './schemaver';
import type { EventError } from './types';

/** What the pipeline does with an event name that has no schema at all. */
export type UnknownEventPolicy = 'accept' | 'reject';

/** One schema version, compiled once per process when first used; its items are declared by `ItemDeclaration`. */
export interface CompiledSchema extends ItemDeclaration {
  event: string;
  version: string;
  /** `<event>/<version>`, the name failed events and stored events carry. */
  ref: string;
  /** Where `"x-pii": true` marks personal data in the properties; null when nowhere. */
  pii: PiiMarks | null;
  validate: ValidateFunction;
}

export type SchemaResolution =
  | { kind: 'schema'; schema: CompiledSchema }
  /** No schema exists for the event name and the policy accepts such events. */
  | { kind: 'unchecked' }
  | { kind: 'unknown'; error: EventError };

/** The raw form a schema arrives in, from a directory or from a test. */
export interface SchemaDocument {
  event: string;
  version: string;
  schema: unknown;
}

export interface SchemaRegistryOptions {
  unknownEvents: UnknownEventPolicy;
  /**
   * The documents passed every check (`SchemaRegistry.compileAll`) before this process started:
   * the CDK app checks the schemas it bundles when it synthesises. Skips checking them against JSON
   * Schema's meta-schema here, whose first use compiles the meta-schema: about 60 ms of a Lambda's
   * cold start, for files that cannot have changed since.
   */
  checkedAhead?: boolean;
}

export const SCHEMA_UNKNOWN = 'SCHEMA_UNKNOWN';
export const SCHEMA_VIOLATION = 'SCHEMA_VIOLATION';

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function createAjv(checkedAhead: boolean): Ajv {
  // allErrors: a sender should learn every problem of an event at once, not one per attempt.
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    validateSchema: !checkedAhead,
  });
  addFormats(ajv);
  // Annotations for the pipeline, checked by readItemDeclaration; ajv only has to accept them.
  ajv.addKeyword({ keyword: ITEM_PROPERTY_KEYWORD, schemaType: 'string' });
  ajv.addKeyword({ keyword: ITEM_LIST_KEYWORD, schemaType: 'object' });
  ajv.addKeyword({ keyword: 'x-pii', schemaType: 'boolean' });
  return ajv;
}

function compileSchema(ajv: Ajv, schema: Json, ref: string): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (cause) {
    throw new SchemaRegistryError(`${ref}: ${(cause as Error).message}`, 'SCHEMA_FILE_INVALID', { cause });
  }
}

/**
 * Event schemas by name and SchemaVer version, each compiled with ajv once, when first used.
 * An event is checked against the version it pins, else the latest version of the newest MODEL.
 */
export class SchemaRegistry {
  private readonly byEvent = new Map<string, CompiledSchema[]>();

  constructor(
    documents: SchemaDocument[],
    readonly options: SchemaRegistryOptions,
  ) {
    const checkedAhead = options.checkedAhead === true;
    const ajv = createAjv(checkedAhead);
    const parsed = new Map<string, Array<{ version: SchemaVer; compiled: CompiledSchema }>>();
    for (const doc of documents) {
      const ref = `${doc.event}/${doc.version}`;
      const version = parseSchemaVer(doc.version);
      if (!EVENT_NAME_PATTERN.test(doc.event))
        throw new SchemaRegistryError(`${ref}: not a valid event name`);
      if (!isJson(doc.schema) || doc.schema.type !== 'object')
        throw new SchemaRegistryError(`${ref}: a schema must describe an object ("type": "object")`);
      const items = readItemDeclaration(doc.schema, ref);
      // Checked against JSON Schema's meta-schema now, so a malformed file still fails at start-up;
      // compiled when first used, since compiling every schema was a large share of a Lambda's cold
      // start (docs/benchmarks.md#lambda). What only compiling finds (strict mode: an unknown keyword)
      // shows then; test/unit/schemas.test.ts compiles every shipped schema.
      if (!checkedAhead && !ajv.validateSchema(doc.schema)) {
        throw new SchemaRegistryError(`${ref}: ${ajv.errorsText(ajv.errors)}`, 'SCHEMA_FILE_INVALID');
      }
      const schema = doc.schema;
      let validate: ValidateFunction | undefined;
      const compiled: CompiledSchema = {
        event: doc.event,
        version: formatSchemaVer(version),
        ref,
        itemProperty: items.itemProperty,
        itemList: items.itemList,
        pii: piiMarksOf(doc.schema, doc.event, ref),
        get validate() {
          return (validate ??= compileSchema(ajv, schema, ref));
        },
      };
      const list = parsed.get(doc.event) ?? [];
      if (list.some((v) => compareSchemaVer(v.version, version) === 0))
        throw new SchemaRegistryError(`${ref}: defined twice`);
      list.push({ version, compiled });
      parsed.set(doc.event, list);
    }
    for (const [event, list] of parsed) {
      list.sort((a, b) => compareSchemaVer(b.version, a.version));
      this.byEvent.set(
        event,
        list.map((v) => v.compiled),
      );
    }
  }

  /**
   * Compiles every version now, so what only compiling finds (strict mode: an unknown keyword)
   * shows at once: the check that lets another process take the same files `checkedAhead`.
   */
  compileAll(): void {
    for (const versions of this.byEvent.values()) for (const version of versions) void version.validate;
  }

  /** Event names with at least one schema. */
  events(): string[] {
    return [...this.byEvent.keys()].sort();
  }

  /**
   * The schema whose `x-pii` marks apply to a failed record's properties: the version it pins if
   * that exists, else the newest; null when its event name has no schema (the detector applies).
   */
  piiSchemaFor(event: unknown, pinnedVersion: unknown): CompiledSchema | null {
    const versions = typeof event === 'string' ? this.byEvent.get(event) : undefined;
    if (versions === undefined) return null;
    return versions.find((v) => v.version === pinnedVersion) ?? versions[0] ?? null;
  }

  /** The schema an event is checked against: its pinned version, else the newest. */
  resolve(event: string, pinnedVersion?: string): SchemaResolution {
    const versions = this.byEvent.get(event);
    if (versions === undefined) {
      if (this.options.unknownEvents === 'accept') return { kind: 'unchecked' };
      return {
        kind: 'unknown',
        error: {
          code: SCHEMA_UNKNOWN,
          path: '/event',
          message: `no schema is registered for event "${event}"`,
        },
      };
    }
    if (pinnedVersion === undefined) {
      const latest = versions[0];
      if (latest !== undefined) return { kind: 'schema', schema: latest };
    }
    const schema = versions.find((v) => v.version === pinnedVersion);
    if (schema !== undefined) return { kind: 'schema', schema };
    return {
      kind: 'unknown',
      error: {
        code: SCHEMA_UNKNOWN,
        path: '/schemaVersion',
        message: `event "${event}" has no schema version ${String(pinnedVersion)}; known: ${versions.map((v) => v.version).join(', ')}`,
      },
    };
  }
}

/**
 * Validates an event's properties; every violation comes back with a JSON pointer into the event.
 * A pseudonym where the schema marks personal data is no violation: a failed event keeps its
 * payload with those fields hashed, and it must still pass once replayed after a fix.
 */
export function propertyErrors(schema: CompiledSchema, properties: Record<string, unknown>): EventError[] {
  if (schema.validate(properties)) return [];
  const { pii } = schema;
  return (schema.validate.errors ?? [])
    .filter(
      (error) => pii === null || !isPseudonym(markedValueOn(pii, properties, error.instancePath)?.value),
    )
    .map((error) => toEventError(error, schema.ref));
}

function toEventError(error: ErrorObject, ref: string): EventError {
  const params = error.params as Record<string, unknown>;
  let pointer = `/properties${error.instancePath}`;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'required') {
    pointer += `/${escapePointer(String(params.missingProperty))}`;
    message = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    pointer += `/${escapePointer(String(params.additionalProperty))}`;
    message = 'is not allowed';
  } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { code: SCHEMA_VIOLATION, path: pointer, message: `${message} (schema ${ref})` };
}
