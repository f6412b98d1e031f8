import { seededRandom as simulationRandom } from '../../scripts/simulation/random';

/** A reproducible source of numbers in [0, 1): the simulator's generator. */
export function seededRandom(seed: number): () => number {
  return simulationRandom(seed).next;
}

/** The seed of fault-injection tests: TRIBUTARY_FAULT_SEED when set, so a failing run can be replayed. */
export function faultSeed(fallback = 20260504): number {
  const raw = process.env.TRIBUTARY_FAULT_SEED;
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`TRIBUTARY_FAULT_SEED must be an integer, got "${raw}"`);
  return seed;
}
