import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { claimsOf, DEFAULT_IDENTITY_RULES, identityRules, isJunkId } from '../../src/events/identity';
import type { HotTierFailure } from '../../src/realtime/failures';
import { ProfileService } from '../../src/services/profile-service';
import { RecommendationService } from '../../src/services/recommendation-service';
import type { HotActivity } from '../../src/sinks/hot-tier/port';

const T0 = Date.UTC(2026, 5, 1, 9);
let sequence = 0;

/** One event; its edge time is `minute` minutes after T0, its stream place the next on `shardId`. */
function event(
  ids: { userId?: string; anonymousId?: string; previousId?: string; mergesUsers?: boolean },
  minute: number,
  options: Partial<HotActivity> = {},
): HotActivity {
  sequence += 1;
  const at = new Date(T0 + minute * 60_000).toISOString();
  const isAlias = ids.previousId !== undefined;
  return {
    profileId: ids.userId ?? ids.anonymousId ?? '',
    messageId: `m-${sequence}`,
    event: isAlias ? 'alias' : 'product_viewed',
    timestamp: at,
    receivedAt: at,
    shardId: 'shardId-1',
    sequenceNumber: String(sequence),
    itemIds: isAlias ? [] : [`sku-${sequence}`],
    traits: null,
    isBot: false,
    userId: ids.userId ?? null,
    anonymousId: ids.anonymousId ?? null,
    previousId: ids.previousId ?? null,
    mergesUsers: ids.mergesUsers ?? false,
    ...options,
  };
}

function harness(rules = DEFAULT_IDENTITY_RULES) {
  const store = new MemoryHotStore({ identity: rules });
  const failures: HotTierFailure[] = [];
  const apply = (...batch: HotActivity[]) =>
    store.applyActivity(batch, async (reported) => {
      failures.push(...reported);
    });
  const profiles = new ProfileService(store, {}, () => T0 + 86_400_000);
  const idsOf = async (id: string) => (await profiles.identity(id))?.ids.map((linked) => linked.id).sort();
  return { store, apply, profiles, failures, idsOf };
}

describe('identity rules', () => {
  it('treats placeholder ids as junk, trimmed and case-insensitively, plus configured ones', () => {
    for (const junk of ['null', 'NULL', ' undefined ', '0', 'Anonymous', 'guest', '[object Object]', '']) {
      expect(isJunkId(junk, DEFAULT_IDENTITY_RULES)).toBe(true);
    }
    expect(isJunkId('a1b2c3', DEFAULT_IDENTITY_RULES)).toBe(false);
    const rules = identityRules({ extraJunkIds: ['Visitor'] });
    expect(isJunkId('visitor', rules)).toBe(true);
    expect(isJunkId('null', rules)).toBe(true);
  });

  it('claims the anonymous id of an event with a userId, and an alias its previous id too', () => {
    const source = { messageId: 'm', receivedAt: '2026-01-01T00:00:00.000Z', mergesUsers: false };
    const plain = claimsOf(
      { ...source, event: 'page_viewed', userId: 'u', anonymousId: 'a', previousId: null },
      DEFAULT_IDENTITY_RULES,
    );
    expect(plain.map((c) => [c.id, c.personId])).toEqual([['a', 'u']]);
    const alias = claimsOf(
      { ...source, event: 'alias', userId: 'u', anonymousId: 'a', previousId: 'old' },
      DEFAULT_IDENTITY_RULES,
    );
    expect(alias.map((c) => [c.id, c.personId])).toEqual([
      ['old', 'u'],
      ['a', 'u'],
    ]);
    expect(
      claimsOf(
        { ...source, event: 'x', userId: 'u', anonymousId: 'undefined', previousId: null },
        DEFAULT_IDENTITY_RULES,
      ),
    ).toEqual([]);
    expect(
      claimsOf(
        { ...source, event: 'x', userId: 'null', anonymousId: 'a', previousId: null },
        DEFAULT_IDENTITY_RULES,
      ),
    ).toEqual([]);
  });

  it('never links junk ids: each user keeps their own profile', async () => {
    const { apply, profiles, idsOf } = harness();
    await apply(event({ anonymousId: 'undefined' }, 1), event({ userId: 'u1', anonymousId: 'undefined' }, 2));
    await apply(event({ userId: 'u2', anonymousId: 'undefined' }, 3));
    expect(await idsOf('u1')).toEqual(['u1']);
    expect(await idsOf('u2')).toEqual(['u2']);
    expect((await profiles.user('u1'))?.eventCount).toBe(1);
    expect((await profiles.user('undefined'))?.personId).toBe('undefined');
  });

  it('gives a shared device to the earliest sign-in by edge time, in whichever order they arrive', async () => {
    for (const order of ['earliest first', 'latest first']) {
      const { apply, profiles, failures, idsOf } = harness();
      const browse = event({ anonymousId: 'shared' }, 1);
      const alice = event({ userId: 'alice', anonymousId: 'shared' }, 10, { shardId: 'shardId-a' });
      const bob = event({ userId: 'bob', anonymousId: 'shared' }, 20, { shardId: 'shardId-b' });
      await apply(browse);
      if (order === 'earliest first') await apply(alice).then(() => apply(bob));
      else await apply(bob).then(() => apply(alice));
      expect({ order, alice: await idsOf('alice'), bob: await idsOf('bob') }).toEqual({
        order,
        alice: ['alice', 'shared'],
        bob: ['bob'],
      });
      expect((await profiles.user('shared'))?.personId).toBe('alice');
      expect((await profiles.user('alice'))?.eventCount).toBe(2);
      expect((await profiles.user('bob'))?.eventCount).toBe(1);
      expect(failures.map((f) => [f.messageId, f.failureType, f.errors[0]?.code])).toEqual([
        [bob.messageId, 'identity_conflict', 'ID_TAKEN'],
      ]);
    }
  });

  it('keeps a person within its cap of anonymous ids, the earliest links winning', async () => {
    const { apply, failures, idsOf } = harness(identityRules({ maxAnonymousIds: 3 }));
    const links = [5, 1, 4, 2, 3].map((minute) =>
      event({ userId: 'u', anonymousId: `device-${minute}` }, minute),
    );
    for (const link of links) await apply(link);
    expect(await idsOf('u')).toEqual(['device-1', 'device-2', 'device-3', 'u']);
    expect(await idsOf('device-5')).toEqual(['device-5']);
    const refused = failures.filter((f) => f.errors.some((e) => e.code === 'ANONYMOUS_ID_LIMIT'));
    // device-5 is refused when device-2 pushes it out, device-4 on arrival, both once.
    expect(refused.map((f) => f.claim?.id).sort()).toEqual(['device-4', 'device-5']);
  });

  it('never merges two users through an ordinary alias, and does through a privileged one', async () => {
    const { apply, profiles, failures, idsOf } = harness();
    await apply(event({ userId: 'old-account' }, 1), event({ userId: 'new-account' }, 2));
    const ordinary = event({ userId: 'new-account', previousId: 'old-account' }, 3);
    await apply(ordinary);
    expect(await idsOf('new-account')).toEqual(['new-account']);
    expect(failures.map((f) => [f.messageId, f.errors[0]?.code])).toEqual([
      [ordinary.messageId, 'USER_MERGE_NOT_ALLOWED'],
    ]);
    await apply(event({ userId: 'new-account', previousId: 'old-account', mergesUsers: true }, 4));
    const merged = await profiles.user('old-account');
    expect(merged?.personId).toBe('new-account');
    expect(merged?.ids.map((linked) => [linked.id, linked.kind])).toEqual([
      ['new-account', 'USER'],
      ['old-account', 'USER'],
    ]);
    expect(merged?.eventCount).toBe(4);
  });

  it('refuses an ordinary link made before the id showed up as a userId', async () => {
    const { apply, failures, idsOf } = harness();
    const link = event({ userId: 'u', anonymousId: 'looks-anonymous' }, 1);
    await apply(link);
    expect(await idsOf('u')).toEqual(['looks-anonymous', 'u']);
    await apply(event({ userId: 'looks-anonymous' }, 2));
    expect(await idsOf('u')).toEqual(['u']);
    expect(failures.map((f) => [f.messageId, f.errors[0]?.code])).toEqual([
      [link.messageId, 'USER_MERGE_NOT_ALLOWED'],
    ]);
  });

  it('follows an anonymous id through a merged user to the person, and breaks a cycle of merges', async () => {
    const { apply, idsOf } = harness();
    await apply(event({ userId: 'u1', anonymousId: 'a1' }, 1), event({ userId: 'u2' }, 2));
    await apply(event({ userId: 'u2', previousId: 'u1', mergesUsers: true }, 3));
    expect(await idsOf('a1')).toEqual(['a1', 'u1', 'u2']);
    await apply(event({ userId: 'u1', previousId: 'u2', mergesUsers: true }, 4));
    // The later merge closes a cycle and is the one dropped: u2 stays the person.
    for (const id of ['a1', 'u1', 'u2']) expect((await idsOf(id))?.length).toBe(3);
    expect(await harness().profiles.identity('none')).toBeNull();
  });

  it('unlinkIdentity splits an id off: profiles and recommendations return to what they were', async () => {
    const history = () =>
      [
        event({ anonymousId: 'kiosk' }, 1, { itemIds: ['sku-a'], messageId: 'k1' }),
        event({ anonymousId: 'kiosk' }, 2, { itemIds: ['sku-b'], messageId: 'k2' }),
        event({ userId: 'u' }, 3, { itemIds: ['sku-c'], messageId: 'u1' }),
        event({ userId: 'u', anonymousId: 'kiosk' }, 4, { itemIds: ['sku-d'], messageId: 'u2' }),
        // Someone else's views tie the items together, so recommendations have neighbours.
        event({ userId: 'other' }, 5, { itemIds: ['sku-a'], messageId: 'o1' }),
        event({ userId: 'other' }, 6, { itemIds: ['sku-c'], messageId: 'o2' }),
      ].map((a, i) => ({ ...a, sequenceNumber: String(i + 1) }));
    const linked = harness();
    await linked.apply(...history());
    // The same history where the kiosk never links: its id is junk there.
    const control = harness(identityRules({ extraJunkIds: ['kiosk'] }));
    await control.apply(...history());
    // Recommendations read item neighbours, which the fold writes.
    await linked.store.foldPending();
    await control.store.foldPending();
    expect((await linked.profiles.user('u'))?.eventCount).toBe(4);

    const identity = await linked.profiles.unlink('kiosk');
    expect(identity).toMatchObject({ personId: 'kiosk', ids: [{ id: 'kiosk', kind: 'ANONYMOUS' }] });
    const recommend = (store: MemoryHotStore, profiles: ProfileService) =>
      new RecommendationService(
        store,
        () => T0 + 3_600_000,
        (id) => profiles.user(id),
      ).recommend({
        userId: 'u',
        limit: 5,
      });
    for (const id of ['u', 'kiosk']) {
      const { ids: _ids, ...after } = (await linked.profiles.user(id)) ?? {};
      const { ids: _controlIds, ...expected } = (await control.profiles.user(id)) ?? {};
      expect(after).toEqual(expected);
    }
    expect((await recommend(control.store, control.profiles)).length).toBeGreaterThan(0);
    expect(await recommend(linked.store, linked.profiles)).toEqual(
      await recommend(control.store, control.profiles),
    );
    // Later claims on the unlinked id are ignored.
    await linked.apply(event({ userId: 'u', anonymousId: 'kiosk' }, 7));
    expect(await linked.idsOf('u')).toEqual(['u']);
    await expect(linked.profiles.unlink('u')).rejects.toMatchObject({ extensions: { code: 'NOT_LINKED' } });
  });

  it('bounds the ids identity and unlinkIdentity take as the envelope bounds ids', async () => {
    const { profiles } = harness();
    for (const id of ['', 'x'.repeat(257)]) {
      await expect(profiles.identity(id)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      await expect(profiles.unlink(id)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    }
    // 256 characters, an emoji counting as one, is the longest id.
    expect(await profiles.identity(`${'x'.repeat(255)}😀`)).toBeNull();
  });
});
