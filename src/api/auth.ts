import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares API keys in constant time (hashing first makes the lengths equal). */
export function apiKeyMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined || given === '') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(expected), digest(given));
}
