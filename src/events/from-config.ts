import type { Config } from '../config';
import { createEnricher, type Enricher } from './enrich/enrich-event';
import { findSchemasDir, loadSchemaRegistry, type SchemaRegistry } from './schema-registry';

/** The schema registry the configuration asks for (one per process). */
export function schemaRegistryFromConfig(config: Pick<Config, 'events'>): SchemaRegistry {
  return loadSchemaRegistry(config.events.schemasDir ?? findSchemasDir(), {
    unknownEvents: config.events.unknownEvents,
  });
}

/** The enricher the configuration asks for, keyed by the PII secret the caller resolved. */
export function enricherFromConfig(config: Pick<Config, 'events'>, piiSecret: string): Enricher {
  return createEnricher({ piiSecret, horizonMs: config.events.horizonDays * 86_400_000 });
}
