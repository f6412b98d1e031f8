import type { HotActivity } from '../../src/sinks/hot-tier/port';

/**
 * One delivered event as the hot tier takes it: the fields a test names, and for the rest an
 * ordinary signed-in user's event with no items, no traits and no links (`userId` is the profile).
 */
export function hotActivity(
  fields: Pick<HotActivity, 'profileId' | 'messageId' | 'shardId' | 'sequenceNumber' | 'timestamp'> &
    Partial<HotActivity>,
): HotActivity {
  return {
    event: 'page_viewed',
    receivedAt: fields.timestamp,
    itemIds: [],
    traits: null,
    isBot: false,
    userId: fields.profileId,
    anonymousId: null,
    previousId: null,
    mergesUsers: false,
    ...fields,
  };
}
