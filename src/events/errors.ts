/** Stable codes of the event domain's own failures (schema files and enrichment). */
export type EventDomainErrorCode =
  'SCHEMA_FILE_INVALID' | 'SCHEMA_VERSION_INVALID' | 'SCHEMA_DIRECTORY_NOT_FOUND' | 'ENRICHMENT_FAILED';

/** A schema file that cannot be loaded; raised at start-up, never per event. */
export class SchemaRegistryError extends Error {
  readonly code: Exclude<EventDomainErrorCode, 'ENRICHMENT_FAILED'>;

  constructor(
    message: string,
    code: Exclude<EventDomainErrorCode, 'ENRICHMENT_FAILED'> = 'SCHEMA_FILE_INVALID',
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SchemaRegistryError';
    this.code = code;
  }
}

/** Enrichment could not process one event; the stream processor sends that event to failed events. */
export class EnrichmentError extends Error {
  readonly code = 'ENRICHMENT_FAILED';

  constructor(
    message: string,
    /** JSON pointer of the field that could not be enriched, when there is one. */
    readonly path: string | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'EnrichmentError';
  }
}
