/** How many traits a profile keeps, and how large they may be together. */
export interface TraitLimits {
  /** Keys of the traits object. */
  traitKeys: number;
  /** Bytes of the traits object as UTF-8 JSON. */
  traitBytes: number;
}

/** An incoming trait that was not taken, and which limit it met. */
export interface DroppedTrait {
  key: string;
  limit: keyof TraitLimits;
}

export interface TraitMerge {
  traits: Record<string, unknown>;
  /** In the order the event lists them. */
  dropped: DroppedTrait[];
}

const utf8 = new TextEncoder();

/** What one key and its value add to the traits' JSON (`"key":value`), without the comma. */
function entryBytes(key: string, value: unknown): number {
  return utf8.encode(JSON.stringify(key)).length + 1 + utf8.encode(JSON.stringify(value) ?? 'null').length;
}

/** Bytes of `{…}` holding entries of `total` bytes: the braces, and a comma between two entries. */
function objectBytes(entries: number, total: number): number {
  return 2 + total + Math.max(0, entries - 1);
}

/**
 * Merges an identify's traits into a profile's, within the limits. Keys are taken in the order the
 * event lists them; a new key is dropped while the profile holds `traitKeys` keys, and any key
 * (new, or an update of one the profile has) is dropped when taking it would put the traits past
 * `traitBytes` and make them larger than they are. So the result only depends on the stored traits
 * and the event, an update that fits always lands, and traits stored past the limits before they
 * existed can shrink but never grow.
 */
export function mergeTraits(
  stored: Readonly<Record<string, unknown>>,
  incoming: Readonly<Record<string, unknown>>,
  limits: TraitLimits,
): TraitMerge {
  // A Map, not property assignment: a key such as `__proto__` must stay an ordinary key.
  const traits = new Map<string, unknown>(Object.entries(stored));
  const sizes = new Map<string, number>();
  let total = 0;
  for (const [key, value] of traits) {
    const size = entryBytes(key, value);
    sizes.set(key, size);
    total += size;
  }
  const dropped: DroppedTrait[] = [];
  for (const [key, value] of Object.entries(incoming)) {
    const held = sizes.get(key);
    if (held === undefined && sizes.size >= limits.traitKeys) {
      dropped.push({ key, limit: 'traitKeys' });
      continue;
    }
    const size = entryBytes(key, value);
    const entries = sizes.size + (held === undefined ? 1 : 0);
    const before = objectBytes(sizes.size, total);
    const after = objectBytes(entries, total - (held ?? 0) + size);
    if (after > limits.traitBytes && after > before) {
      dropped.push({ key, limit: 'traitBytes' });
      continue;
    }
    traits.set(key, value);
    sizes.set(key, size);
    total += size - (held ?? 0);
  }
  return { traits: Object.fromEntries(traits), dropped };
}
