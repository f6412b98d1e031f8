import type { Config } from '../config';
import { createEnricher, type Enricher } from './enrich/enrich-event';
import type { PiiKind } from './enrich/pii-detector';

/** The enricher the configuration asks for, keyed by the PII secret the caller resolved. */
export function enricherFromConfig(config: Pick<Config, 'events'>, piiSecret: string): Enricher {
  return createEnricher({
    piiSecret,
    horizonMs: config.events.horizonDays * 86_400_000,
    piiDetector: piiKindsFromConfig(config),
  });
}

/** What the detector takes for personal data in events without a schema (TRIBUTARY_PII_DETECTOR). */
export function piiKindsFromConfig(config: Pick<Config, 'events'>): PiiKind[] {
  const { piiDetector } = config.events;
  return piiDetector === 'off' ? [] : (piiDetector.split(',') as PiiKind[]);
}
