import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { readSegmentEventNames, type SegmentEventNames } from '../events/segment/event-name';
import { findSchemasDir } from './schema-files';

/** The mapping file beside the event schemas, so a project extends both in one folder. */
export const SEGMENT_EVENT_NAMES_FILE = 'segment-event-names.json';

/**
 * Reads `<schemas>/segment-event-names.json` once at start-up; without the file, Segment names are
 * only normalised. A malformed file fails start-up loudly, as a malformed schema does.
 */
export function loadSegmentEventNames(config: {
  events: Pick<Config['events'], 'schemasDir'>;
}): SegmentEventNames {
  const file = path.join(config.events.schemasDir ?? findSchemasDir(), SEGMENT_EVENT_NAMES_FILE);
  if (!existsSync(file)) return {};
  try {
    return readSegmentEventNames(JSON.parse(readFileSync(file, 'utf8')));
  } catch (cause) {
    throw new Error(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
