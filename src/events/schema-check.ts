import { propertyErrors, type CompiledSchema, type SchemaRegistry } from './schema-registry';
import type { EventError } from './types';

export type SchemaCheck =
  | { ok: true; schema: CompiledSchema | null }
  | {
      ok: false;
      failureType: 'schema_unknown' | 'schema_violation';
      /** The schema checked against (`<event>/<version>`), or the one asked for and missing. */
      schemaRef: string | null;
      errors: EventError[];
    };

/**
 * The one schema rule, applied at the edge and again in the stream: resolve the event's schema
 * (pinned version or latest) under the unknown-event policy, then validate its properties.
 */
export function checkEventSchema(
  registry: SchemaRegistry,
  event: { event: string; schemaVersion?: string; properties?: Record<string, unknown> },
): SchemaCheck {
  const resolution = registry.resolve(event.event, event.schemaVersion);
  if (resolution.kind === 'unchecked') return { ok: true, schema: null };
  if (resolution.kind === 'unknown') {
    return {
      ok: false,
      failureType: 'schema_unknown',
      schemaRef: event.schemaVersion === undefined ? null : `${event.event}/${event.schemaVersion}`,
      errors: [resolution.error],
    };
  }
  const errors = propertyErrors(resolution.schema, event.properties ?? {});
  return errors.length === 0
    ? { ok: true, schema: resolution.schema }
    : { ok: false, failureType: 'schema_violation', schemaRef: resolution.schema.ref, errors };
}
