import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A reproducible source of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => uniformFloat64(rng);
}

/** The seed of fault-injection tests: TRIBUTARY_FAULT_SEED when set, so a failing run can be replayed. */
export function faultSeed(fallback = 20260504): number {
  const raw = process.env.TRIBUTARY_FAULT_SEED;
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`TRIBUTARY_FAULT_SEED must be an integer, got "${raw}"`);
  return seed;
}
