import { MemoryHotStore } from '../../scripts/eval/memory-hot-store';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import type { HotTierFailure } from '../../src/realtime/failures';
import { ProfileService } from '../../src/services/profile-service';
import { crashAfter, deliverInterleaved, generateIdentityHistory } from '../helpers/identity-history';
import { expectProfilesMatchOracle } from '../helpers/identity-oracle';
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

    const { oracle, linkedPeople } = await expectProfilesMatchOracle(
      new ProfileService(store),
      history,
      DEFAULT_IDENTITY_RULES.junkIds,
    );
    expect(linkedPeople).toBeGreaterThan(300);

    const conflicts = new Set(
      failures.filter((f) => f.failureType === 'identity_conflict').map((f) => f.messageId),
    );
    expect(oracle.losingClaims.size).toBeGreaterThan(0);
    expect(conflicts).toEqual(oracle.losingClaims);
  });
});
