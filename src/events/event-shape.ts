import { SHAPE_RULES } from './envelope-rules';
import { escapePointer } from './json-pointer';

type Json = Record<string, unknown>;

const { maxDepth } = SHAPE_RULES;
const RESERVED: ReadonlySet<string> = new Set(SHAPE_RULES.reservedKeys);

/**
 * Whether a part of an event keeps the shape rules: no reserved key, no object or array more than
 * maxDepth levels deep (the part itself is level 1). It allocates nothing and stops at the first
 * break, since the stream's fast path runs it on every record; recursion is bounded by the limit.
 */
export function fitsShape(value: unknown, level = 1): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (level > maxDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!fitsShape(value[i], level + 1)) return false;
    return true;
  }
  for (const key in value) {
    if (RESERVED.has(key) || !fitsShape((value as Json)[key], level + 1)) return false;
  }
  return true;
}

export interface ShapeProblem {
  /** The JSON pointer of the reserved key, or of the first object or array past the limit. */
  path: string;
  message: string;
}

/** Where a part first breaks the shape rules (as fitsShape reads it), or undefined. `pointer` names the part. */
export function shapeProblem(value: unknown, pointer: string, level = 1): ShapeProblem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (level > maxDepth)
    return { path: pointer, message: `nests objects and arrays deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = shapeProblem(value[i], `${pointer}/${i}`, level + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  for (const key in value) {
    const path = `${pointer}/${escapePointer(key)}`;
    if (RESERVED.has(key))
      return { path, message: `"${key}" is a reserved key (${SHAPE_RULES.reservedKeys.join(', ')})` };
    const problem = shapeProblem((value as Json)[key], path, level + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Whether no object or array in `value` is more than `levels` deep (`value` itself is level 1). */
export function depthWithin(value: unknown, levels: number, level = 1): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (level > levels) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!depthWithin(value[i], levels, level + 1)) return false;
    return true;
  }
  for (const key in value) if (!depthWithin((value as Json)[key], levels, level + 1)) return false;
  return true;
}

/**
 * A record body whose parts are cut one level past maxDepth: what was deeper becomes an empty object
 * or array. An event refused for its depth is still passed on to the stream, where it is refused
 * again at the same pointer; whole, JSON.stringify (which recurses) could overflow writing it. Copies
 * have no prototype, so a reserved key among them stays a plain field.
 */
export function cutPastDepthLimit<T extends object>(body: T): T {
  const copy: Json = { ...(body as Json) };
  for (const part of SHAPE_RULES.parts) {
    if (copy[part] !== undefined) copy[part] = emptiedBelow(copy[part], maxDepth + 1, 1);
  }
  return copy as unknown as T;
}

function emptiedBelow(value: unknown, levels: number, level: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (level > levels) return Array.isArray(value) ? [] : {};
  if (Array.isArray(value)) return value.map((item) => emptiedBelow(item, levels, level + 1));
  const copy: Json = Object.create(null) as Json;
  for (const key of Object.keys(value)) copy[key] = emptiedBelow((value as Json)[key], levels, level + 1);
  return copy;
}
