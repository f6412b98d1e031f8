import type { StoredEvent } from '../events/types';
import { profileId } from '../events/types';
import type { ProfileActivity } from '../sinks/ports';

/** A delivered event with its place in the stream. */
export interface PositionedEvent {
  event: StoredEvent;
  shardId: string;
  sequenceNumber: string;
}

/** What the hot tier needs from a batch's delivered events, in stream order. */
export function toHotActivity(events: PositionedEvent[]): ProfileActivity[] {
  const activity: ProfileActivity[] = [];
  for (const { event, shardId, sequenceNumber } of events) {
    const id = profileId(event);
    if (id === undefined) continue;
    activity.push({ profileId: id, event: event.event, timestamp: event.timestamp, shardId, sequenceNumber });
  }
  return activity;
}
