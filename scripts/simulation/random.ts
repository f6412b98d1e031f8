import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of randomness: the same seed gives the same sequence on every machine. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/**
 * `stream` picks one of the seed's independent sequences (each 2^64 draws apart), so a feature that
 * draws from its own stream leaves every other draw of the same seed as it was.
 */
export function seededRandom(seed: number, stream = 0): Random {
  const rng = xoroshiro128plus(seed);
  for (let i = 0; i < stream; i++) rng.jump();
  const next = () => uniformFloat64(rng);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(0, items.length - 1)];
      if (item === undefined) throw new RangeError('pick() from an empty list');
      return item;
    },
  };
}

/**
 * Draws ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^exponent: a power law, where a few items get most of
 * the traffic and a long tail gets the rest, as in any shop's catalogue. Sampling is a binary
 * search in the cumulative distribution, built once.
 */
export function zipf(n: number, exponent: number): (random: Random) => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += 1 / Math.pow(k + 1, exponent);
    cumulative[k] = total;
  }
  return (random) => {
    const target = random.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? total) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/** Geometric count ≥ 1 with the given mean: how many steps a shopper takes before stopping. */
export function geometric(random: Random, mean: number): number {
  const stop = 1 / mean;
  let n = 1;
  while (!random.chance(stop) && n < mean * 10) n++;
  return n;
}
