/**
 * What the edge and the stream share when they drop the events of suppressed ids
 * (docs/privacy.md#suppression): which ids an event names its person by, and the log line the
 * SuppressedEvents metric is counted from.
 */
import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY } from '../events/identity';

/** The fields of an event, or of a record read as one, that may name a person. */
export interface PersonFields {
  event?: unknown;
  userId?: unknown;
  anonymousId?: unknown;
  properties?: unknown;
}

/**
 * The ids an event names its person by: its userId, its anonymousId and, for an `alias`, its
 * `properties.previous_id` — the rule the lake's eraser matches records by. A record that failed
 * its checks passes `withPreviousId: true`, since its event name may be what is wrong with it.
 * Ids are taken exactly as sent (a number as its text); a blank one names nobody.
 */
export function subjectIdsOf(event: PersonFields, withPreviousId = event.event === ALIAS_EVENT): string[] {
  // Plain pushes, no closure or trimmed copies: the stream processor asks this of every record.
  const ids: string[] = [];
  pushId(ids, event.userId);
  pushId(ids, event.anonymousId);
  const { properties } = event;
  if (withPreviousId && typeof properties === 'object' && properties !== null && !Array.isArray(properties))
    pushId(ids, (properties as Record<string, unknown>)[PREVIOUS_ID_PROPERTY]);
  return ids;
}

function pushId(ids: string[], value: unknown): void {
  let id: string | undefined;
  if (typeof value === 'string') id = isBlank(value) ? undefined : value;
  else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint')
    id = String(value);
  if (id !== undefined && !ids.includes(id)) ids.push(id);
}

/** Empty or white space only; trims (a copy) only a string that starts with white space. */
const isBlank = (text: string): boolean =>
  text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '');

/**
 * The log field the deployment's metric filters sum into the SuppressedEvents metric
 * (infra/constructs/suppressed-events-metric.ts).
 */
export const SUPPRESSED_EVENTS_LOG_FIELD = 'suppressedEvents';

/** Where events were dropped: in the API's answer, or by the stream processor. */
export type SuppressionPoint = 'edge' | 'stream';

/**
 * Logs how many events of suppressed ids a request or a batch dropped, when it dropped any. The
 * count and nothing else: the ids are the very data the person asked to have forgotten.
 */
export function logSuppressed(logger: Pick<Console, 'info'>, at: SuppressionPoint, count: number): void {
  if (count === 0) return;
  logger.info(`dropped ${count} events of suppressed ids`, { [SUPPRESSED_EVENTS_LOG_FIELD]: count, at });
}
