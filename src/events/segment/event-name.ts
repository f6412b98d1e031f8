/**
 * Segment names events in prose ("Order Completed"); ours are lower snake case. A name is lower
 * cased and every run of other characters becomes one `_`, trimmed at both ends, so the names of
 * Segment's specs land on ours ("Order Completed" → `order_completed`). A name that still breaks
 * the event-name rule (it starts with a digit, or is too long) is left to the envelope check,
 * which rejects it with its reason rather than guessing a name.
 */
export function normaliseEventName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Segment event names (as sent) to our event names, where normalising alone does not match. */
export type SegmentEventNames = Readonly<Record<string, string>>;

/** A mapping file's content: an object of strings to strings, or an error saying what is wrong. */
export function readSegmentEventNames(json: unknown): SegmentEventNames {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TypeError('the Segment event-name mapping must be a JSON object of names to names');
  const names: Record<string, string> = {};
  for (const [from, to] of Object.entries(json as Record<string, unknown>)) {
    if (from.startsWith('$')) continue;
    if (typeof to !== 'string' || to === '')
      throw new TypeError(`the Segment event-name mapping of "${from}" must be a non-empty string`);
    names[from] = to;
  }
  return names;
}

/** Our name for a Segment track event: the mapping's, else the normalised name. */
export function eventNameFor(segmentName: string, names: SegmentEventNames): string {
  return Object.hasOwn(names, segmentName) ? (names[segmentName] as string) : normaliseEventName(segmentName);
}
