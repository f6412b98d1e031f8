/**
 * Adds one to `counts[key]`. Only the object's own keys count, so an event named like a member of
 * Object.prototype (`constructor`, `toString`) starts from 0 instead of from that member.
 */
export function countOne(counts: Record<string, number>, key: string): void {
  counts[key] = (Object.hasOwn(counts, key) ? (counts[key] ?? 0) : 0) + 1;
}
