/**
 * Where a schema marks personal data (`"x-pii": true`), as a tree over an event's properties. Built
 * once per schema when the registry loads; walked per event along marked branches only.
 */
import { SchemaRegistryError } from './errors';
import { IDENTIFY_EVENT, TRAITS_PROPERTY } from './identify';
import { escapePointer } from './json-pointer';

export interface PiiMarks {
  /** The value here is personal data and is hashed whole (anything but text as its JSON). */
  readonly hashed: boolean;
  /** Marks under named properties of an object (`properties`). */
  readonly properties: ReadonlyMap<string, PiiMarks>;
  /** Marks under every property not named (`additionalProperties`). */
  readonly otherProperties: PiiMarks | null;
  /** Marks under every element of an array (`items`, `additionalItems`). */
  readonly items: PiiMarks | null;
}

interface Builder {
  hashed: boolean;
  properties: Map<string, Builder>;
  otherProperties: Builder | null;
  items: Builder | null;
}

type Json = Record<string, unknown>;

const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const empty = (): Builder => ({ hashed: false, properties: new Map(), otherProperties: null, items: null });

/** Keywords whose subschemas describe the same value: their marks all apply to it. */
const SAME_VALUE = ['allOf', 'anyOf', 'oneOf'] as const;
const SAME_VALUE_SINGLE = ['if', 'then', 'else'] as const;

interface Walk {
  root: Json;
  ref: string;
  /** Schema pointers of the `x-pii` marks reached. */
  reached: Set<string>;
  /** `$ref`s being followed, innermost last: a schema that refers to itself is not followed again. */
  following: string[];
}

/**
 * The marks of a schema document, or null when it marks nothing. Marks are followed through
 * `properties`, `additionalProperties`, `items`, `additionalItems`, `allOf`/`anyOf`/`oneOf`,
 * `if`/`then`/`else` and local `$ref`s; a mark anywhere else (under `patternProperties`, say), or
 * inside a schema that refers to itself, would leave values unhashed, so the schema is refused.
 * For `identify`, the marks apply to `properties.traits` too (see TRAITS_PROPERTY).
 */
export function piiMarksOf(schema: unknown, event: string, ref: string): PiiMarks | null {
  if (!isJson(schema)) return null;
  if (schema['x-pii'] === true)
    throw new SchemaRegistryError(
      `${ref}: "x-pii" on the schema itself would hash all properties into one value`,
    );
  const walk: Walk = { root: schema, ref, reached: new Set(), following: [] };
  const root = empty();
  collect(schema, root, '', walk);
  const unreached = [...allMarks(schema, '')].filter((pointer) => !walk.reached.has(pointer));
  if (unreached.length > 0)
    throw new SchemaRegistryError(
      `${ref}: "x-pii" at ${unreached.join(', ')} is not under properties, additionalProperties, items, ` +
        'allOf/anyOf/oneOf, if/then/else or a $ref to a definition: those values would not be hashed',
    );
  if (event === IDENTIFY_EVENT) {
    // Traits may come nested in properties.traits: the marks of the properties apply there too.
    const asTraits = copy(root);
    merge(child(root.properties, TRAITS_PROPERTY), asTraits);
  }
  return isEmpty(root) ? null : root;
}

function collect(node: unknown, into: Builder, pointer: string, walk: Walk): void {
  if (!isJson(node)) return;
  if (node['x-pii'] === true) {
    into.hashed = true;
    walk.reached.add(pointer);
  }
  // Marks below a hashed value change nothing, but are still walked so they count as reached.
  if (isJson(node.properties)) {
    for (const [name, subschema] of Object.entries(node.properties))
      collect(subschema, child(into.properties, name), `${pointer}/properties/${escapePointer(name)}`, walk);
  }
  if (isJson(node.additionalProperties))
    collect(
      node.additionalProperties,
      (into.otherProperties ??= empty()),
      `${pointer}/additionalProperties`,
      walk,
    );
  if (Array.isArray(node.items))
    node.items.forEach((item, i) => collect(item, (into.items ??= empty()), `${pointer}/items/${i}`, walk));
  else if (isJson(node.items)) collect(node.items, (into.items ??= empty()), `${pointer}/items`, walk);
  if (isJson(node.additionalItems))
    collect(node.additionalItems, (into.items ??= empty()), `${pointer}/additionalItems`, walk);
  for (const keyword of SAME_VALUE) {
    const list = node[keyword];
    if (Array.isArray(list)) list.forEach((sub, i) => collect(sub, into, `${pointer}/${keyword}/${i}`, walk));
  }
  for (const keyword of SAME_VALUE_SINGLE) collect(node[keyword], into, `${pointer}/${keyword}`, walk);
  if (typeof node.$ref === 'string') follow(node.$ref, into, walk);
}

/** Follows a `$ref` that is a JSON pointer into the same document (ajv has already resolved it). */
function follow(ref: string, into: Builder, walk: Walk): void {
  if (!ref.startsWith('#')) return;
  const pointer = ref.slice(1);
  const target = resolve(walk.root, pointer);
  if (target === undefined) return;
  if (walk.following.includes(pointer)) {
    if (allMarks(target, pointer).size > 0)
      throw new SchemaRegistryError(
        `${walk.ref}: "x-pii" inside ${ref}, which refers to itself: values nested past its first level would not be hashed`,
      );
    return;
  }
  walk.following.push(pointer);
  collect(target, into, pointer, walk);
  walk.following.pop();
}

function resolve(root: Json, pointer: string): unknown {
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const token of pointer.slice(1).split('/')) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

/** The pointers of every `"x-pii": true` in a schema document, whatever keyword it sits under. */
function allMarks(node: unknown, pointer: string, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((item, i) => allMarks(item, `${pointer}/${i}`, out));
  else if (isJson(node)) {
    if (node['x-pii'] === true) out.add(pointer);
    for (const [key, value] of Object.entries(node)) allMarks(value, `${pointer}/${escapePointer(key)}`, out);
  }
  return out;
}

function child(map: Map<string, Builder>, name: string): Builder {
  let found = map.get(name);
  if (found === undefined) map.set(name, (found = empty()));
  return found;
}

function merge(into: Builder, from: Builder): void {
  into.hashed ||= from.hashed;
  for (const [name, marks] of from.properties) merge(child(into.properties, name), marks);
  if (from.otherProperties !== null) merge((into.otherProperties ??= empty()), from.otherProperties);
  if (from.items !== null) merge((into.items ??= empty()), from.items);
}

function copy(marks: Builder): Builder {
  const out = empty();
  merge(out, marks);
  return out;
}

function isEmpty(marks: Builder): boolean {
  return (
    !marks.hashed &&
    marks.otherProperties === null &&
    marks.items === null &&
    [...marks.properties.values()].every(isEmpty)
  );
}

/**
 * The value a mark covers at or above a JSON pointer into properties, when there is one: the
 * nearest value on the way there that is hashed whole. Undefined when nothing on the way is marked.
 */
export function markedValueOn(
  marks: PiiMarks,
  properties: unknown,
  pointer: string,
): { value: unknown } | undefined {
  const tokens = pointer === '' ? [] : pointer.slice(1).split('/');
  let node: PiiMarks | null = marks;
  let value = properties;
  for (let i = 0; node !== null; i++) {
    if (node.hashed) return { value };
    const token = tokens[i]?.replace(/~1/g, '/').replace(/~0/g, '~');
    if (token === undefined) return undefined;
    if (Array.isArray(value)) {
      node = node.items;
      value = value[Number(token)];
    } else if (isJson(value)) {
      node = node.properties.get(token) ?? node.otherProperties;
      value = Object.hasOwn(value, token) ? value[token] : undefined;
    } else return undefined;
  }
  return undefined;
}
