import type { Config } from '../config';
import { createEnricher, type Enricher } from './enrich/enrich-event';

/** The enricher the configuration asks for, keyed by the PII secret the caller resolved. */
export function enricherFromConfig(config: Pick<Config, 'events'>, piiSecret: string): Enricher {
  return createEnricher({ piiSecret, horizonMs: config.events.horizonDays * 86_400_000 });
}
