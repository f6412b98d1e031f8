import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import type { HotTierFailure } from '../../src/realtime/failures';
import { ProfileService } from '../../src/services/profile-service';
import { crashAfter, deliverInterleaved, generateIdentityHistory } from '../helpers/identity-history';
import { expectedView, expectRecentItems, identityOracle, observed } from '../helpers/identity-oracle';
import { faultSeed } from '../helpers/seeded-random';

describe('identity stitching, property-based against an oracle', () => {
  const seed = faultSeed(20261202);

  it.each([1, 2, 3])('every id of every person answers the whole person (round %i)', async (round) => {
    const history = generateIdentityHistory(seed + round, 300);
    let beforeWrite: () => void = () => undefined;
    const store = new MemoryHotStore({ beforeWrite: () => beforeWrite() });
    const failures: HotTierFailure[] = [];
    const stats = await deliverInterleaved(history, seed * 7 + round, async (batch, crashAt) => {
      beforeWrite = crashAfter(crashAt);
      try {
        await store.applyActivity(batch, async (reported) => {
          failures.push(...reported);
        });
      } finally {
        beforeWrite = () => undefined;
      }
    });
    expect(stats.crashes).toBeGreaterThan(5);
    expect(stats.redeliveries).toBeGreaterThan(5);

    const oracle = identityOracle(history.events, DEFAULT_IDENTITY_RULES.junkIds);
    const profiles = new ProfileService(store);
    let linkedPeople = 0;
    for (const id of history.ids) {
      const person = oracle.personOf(id);
      const profile = await profiles.user(id);
      if (person.eventCount === 0) {
        expect(profile).toBeNull();
        continue;
      }
      if (profile === null) throw new Error(`no profile for ${id}`);
      expect(observed(profile)).toEqual(expectedView(person));
      expectRecentItems(profile, person);
      if (person.ids.length > 1) linkedPeople += 1;
    }
    expect(linkedPeople).toBeGreaterThan(300);

    const conflicts = new Set(
      failures.filter((f) => f.failureType === 'identity_conflict').map((f) => f.messageId),
    );
    expect(oracle.losingClaims.size).toBeGreaterThan(0);
    expect(conflicts).toEqual(oracle.losingClaims);
  });
});
