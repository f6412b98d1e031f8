import type { StoredEvent } from '../events/types';
import { profileId } from '../events/types';
import type { HotActivity } from '../sinks/ports';

/** A delivered event with its place in the stream. */
export interface PositionedEvent {
  event: StoredEvent;
  shardId: string;
  sequenceNumber: string;
}

/** The event that sets a profile's traits, as in Segment's spec. */
export const IDENTIFY_EVENT = 'identify';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An identify event carries its traits in `properties.traits`, or as its properties. */
function traitsOf(event: StoredEvent): Record<string, unknown> | null {
  if (event.event !== IDENTIFY_EVENT) return null;
  const nested = event.properties.traits;
  return isObject(nested) ? nested : event.properties;
}

/**
 * What the hot tier needs from a batch's delivered events, in stream order. The item comes from
 * `itemId`, which the processor fills from the property the event's schema names; the hot tier
 * never guesses it from property names.
 */
export function toHotActivity(events: PositionedEvent[]): HotActivity[] {
  const activity: HotActivity[] = [];
  for (const { event, shardId, sequenceNumber } of events) {
    const id = profileId(event);
    if (id === undefined) continue;
    activity.push({
      profileId: id,
      messageId: event.messageId,
      event: event.event,
      timestamp: event.timestamp,
      receivedAt: event.receivedAt,
      shardId,
      sequenceNumber,
      itemId: event.itemId ?? null,
      traits: traitsOf(event),
    });
  }
  return activity;
}
