import { ALIAS_EVENT, PREVIOUS_ID_PROPERTY } from '../events/identity';
import { IDENTIFY_EVENT, TRAITS_PROPERTY } from '../events/identify';
import type { StoredEvent } from '../events/types';
import { profileId } from '../events/types';
import type { HotActivity } from '../sinks/hot-tier/port';

/** A delivered event with its place in the stream. */
export interface PositionedEvent {
  event: StoredEvent;
  /** Every item the event is about, as the processor read them with the event's schema. */
  itemIds: readonly string[];
  shardId: string;
  sequenceNumber: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An identify event carries its traits in `properties.traits`, or as its properties. */
function traitsOf(event: StoredEvent): Record<string, unknown> | null {
  if (event.event !== IDENTIFY_EVENT) return null;
  const nested = event.properties[TRAITS_PROPERTY];
  return isObject(nested) ? nested : event.properties;
}

/** The id an alias event claims for its userId. */
function previousIdOf(event: StoredEvent): string | null {
  if (event.event !== ALIAS_EVENT) return null;
  const previous = event.properties[PREVIOUS_ID_PROPERTY];
  return typeof previous === 'string' ? previous : null;
}

/**
 * What the hot tier needs from a batch's delivered events, in stream order. The items are the ones
 * the event's schema declares (`x-item-property`, or every element of an `x-item-list` such as an
 * order's products), read by the processor; the hot tier never guesses them from property names.
 * One event stays one activity however many items it names, so the profile counts it once.
 */
export function toHotActivity(events: readonly PositionedEvent[]): HotActivity[] {
  const activity: HotActivity[] = [];
  for (const { event, itemIds, shardId, sequenceNumber } of events) {
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
      itemIds: [...itemIds],
      traits: traitsOf(event),
      isBot: event.enrichment?.isBot ?? false,
      userId: event.userId,
      anonymousId: event.anonymousId,
      previousId: previousIdOf(event),
      mergesUsers: event.mergesUsers === true,
    });
  }
  return activity;
}
