import type { Config } from '../config';
import { createEnricher, type Enricher } from './enrich/enrich-event';
import type { PiiKind } from './enrich/pii-detector';

/** The enricher the configuration asks for, keyed by the PII secret the caller resolved. */
export function enricherFromConfig(config: Pick<Config, 'events'>, piiSecret: string): Enricher {
  const { horizonDays, piiDetector } = config.events;
  return createEnricher({
    piiSecret,
    horizonMs: horizonDays * 86_400_000,
    piiDetector: piiDetector === 'off' ? [] : (piiDetector.split(',') as PiiKind[]),
  });
}
