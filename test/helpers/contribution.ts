import type { Contribution } from '../../src/realtime/contribution';

/**
 * One stream record's contribution as the engine takes it: the fields a test names, and for the
 * rest an ordinary event of user u1 on shard `s` with no items, no traits and no links, received when
 * it happened (the counterpart of hotActivity for the engine's own functions).
 */
export function contribution(
  fields: Pick<Contribution, 'messageId' | 'sequence' | 'timestamp'> & Partial<Contribution>,
): Contribution {
  return {
    profileId: 'u1',
    event: 'page_viewed',
    receivedAt: fields.timestamp,
    shardId: 's',
    itemIds: [],
    traits: null,
    isBot: false,
    userId: 'u1',
    anonymousId: null,
    previousId: null,
    mergesUsers: false,
    ...fields,
  };
}
