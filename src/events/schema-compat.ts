import {
  compareSchemaVer,
  formatSchemaVer,
  parseSchemaVer,
  stepAllows,
  stepBetween,
  type SchemaVerStep,
} from './schemaver';

type Json = Record<string, unknown>;
type SchemaNode = Json | boolean;

/** One reason a change needs at least `step`, with the JSON pointer of the subschema. */
export interface CompatFinding {
  step: Exclude<SchemaVerStep, 'addition'>;
  path: string;
  message: string;
}

const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
const EXACT = ['pattern', 'format', 'multipleOf', 'const'] as const;
// Keywords with no effect on which documents are valid.
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'examples', 'default']);
const UNDERSTOOD = new Set<string>([
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
  ...EXACT,
  ...ANNOTATIONS,
  'type',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'uniqueItems',
  'x-item-property',
  'x-item-list',
  'x-pii',
]);

const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isJson(a) && isJson(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

const typesOf = (schema: Json): string[] | undefined =>
  schema.type === undefined ? undefined : ([] as string[]).concat(schema.type as string | string[]);

/** `true` and `{}` accept everything; anything else may reject something. */
const acceptsAll = (node: SchemaNode): boolean =>
  node === true || (isJson(node) && Object.keys(node).every((k) => ANNOTATIONS.has(k)));

/**
 * The smallest SchemaVer step a change from `before` to `after` needs, with its reasons.
 * ADDITION: every document valid before is still valid. REVISION: some may not be. MODEL: none
 * written for the old schema can be assumed valid (a new required field) or the meaning of the
 * data moved (the item property or item list). Keywords it cannot reason about count as a REVISION when they change.
 */
export function requiredStep(
  before: SchemaNode,
  after: SchemaNode,
): { step: SchemaVerStep; findings: CompatFinding[] } {
  const findings: CompatFinding[] = [];
  compareNode(before, after, '', findings);
  const step = findings.some((f) => f.step === 'model')
    ? 'model'
    : findings.length > 0
      ? 'revision'
      : 'addition';
  return { step, findings };
}

function compareNode(a: SchemaNode, b: SchemaNode, path: string, out: CompatFinding[]): void {
  if (deepEqual(a, b) || acceptsAll(b)) return;
  const revision = (message: string) => out.push({ step: 'revision', path: path || '/', message });
  if (!isJson(a) || !isJson(b)) {
    // `false` before accepted nothing, so nothing can break; anything narrower than `true` may.
    if (a !== false) revision('the subschema now rejects values it accepted');
    return;
  }

  const ta = typesOf(a);
  const tb = typesOf(b);
  if (
    tb !== undefined &&
    (ta === undefined || ta.some((t) => !tb.includes(t) && !(t === 'integer' && tb.includes('number'))))
  )
    revision(`type narrowed from ${ta ? ta.join('|') : 'any'} to ${tb.join('|')}`);
  if (
    Array.isArray(b.enum) &&
    (!Array.isArray(a.enum) || a.enum.some((v) => !(b.enum as unknown[]).some((w) => deepEqual(v, w))))
  )
    revision('enum lost values');
  for (const key of LOWER_BOUNDS) {
    const nb = b[key];
    if (typeof nb === 'number' && !(typeof a[key] === 'number' && nb <= (a[key] as number)))
      revision(`${key} raised to ${nb}`);
  }
  for (const key of UPPER_BOUNDS) {
    const nb = b[key];
    if (typeof nb === 'number' && !(typeof a[key] === 'number' && nb >= (a[key] as number)))
      revision(`${key} lowered to ${nb}`);
  }
  for (const key of EXACT) {
    if (b[key] !== undefined && !deepEqual(a[key], b[key])) revision(`${key} added or changed`);
  }
  if (b.uniqueItems === true && a.uniqueItems !== true) revision('uniqueItems added');
  if (!deepEqual(a['x-pii'], b['x-pii'])) revision('x-pii changed: stored values change form');
  if (!deepEqual(a['x-item-property'], b['x-item-property']))
    out.push({
      step: 'model',
      path: path || '/',
      message: 'x-item-property changed: the item an event is about moved',
    });
  if (!deepEqual(a['x-item-list'], b['x-item-list']))
    out.push({
      step: 'model',
      path: path || '/',
      message: 'x-item-list changed: the items an event is about moved',
    });

  const requiredBefore = new Set(Array.isArray(a.required) ? (a.required as string[]) : []);
  for (const name of Array.isArray(b.required) ? (b.required as string[]) : []) {
    if (!requiredBefore.has(name))
      out.push({ step: 'model', path: `${path}/properties/${name}`, message: `${name} became required` });
  }

  const pa = isJson(a.properties) ? (a.properties as Record<string, SchemaNode>) : {};
  const pb = isJson(b.properties) ? (b.properties as Record<string, SchemaNode>) : {};
  const extraA = (a.additionalProperties ?? true) as SchemaNode;
  const extraB = (b.additionalProperties ?? true) as SchemaNode;
  for (const name of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    const before = pa[name] ?? extraA;
    const after = pb[name] ?? extraB;
    compareNode(before, after, `${path}/properties/${name}`, out);
  }
  compareNode(extraA, extraB, `${path}/additionalProperties`, out);
  if (a.items !== undefined || b.items !== undefined)
    compareNode((a.items ?? true) as SchemaNode, (b.items ?? true) as SchemaNode, `${path}/items`, out);

  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!UNDERSTOOD.has(key) && !deepEqual(a[key], b[key]))
      revision(`${key} changed; its effect on old data cannot be proven harmless`);
  }
}

/** One version of one event's schema, as found in schemas/<event>/<version>.json. */
export interface SchemaVersionDocument {
  version: string;
  schema: SchemaNode;
}

/**
 * Checks an event's whole history: it starts at 1-0-0, every next version is one SchemaVer
 * step from the one before it, and no step is smaller than what its change needs.
 */
export function checkSchemaHistory(event: string, versions: SchemaVersionDocument[]): string[] {
  const problems: string[] = [];
  const sorted = versions
    .map((v) => ({ ...v, parsed: parseSchemaVer(v.version) }))
    .sort((x, y) => compareSchemaVer(x.parsed, y.parsed));
  const first = sorted[0];
  if (first !== undefined && formatSchemaVer(first.parsed) !== '1-0-0')
    problems.push(`${event}: the first version must be 1-0-0, found ${first.version}`);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const next = sorted[i];
    if (prev === undefined || next === undefined) continue;
    const declared = stepBetween(prev.parsed, next.parsed);
    if (typeof declared !== 'string') {
      problems.push(`${event}: ${declared.invalid}`);
      continue;
    }
    const { step, findings } = requiredStep(prev.schema, next.schema);
    if (!stepAllows(declared, step)) {
      const reasons = findings.map((f) => `${f.path}: ${f.message}`).join('; ');
      problems.push(
        `${event}: ${prev.version} → ${next.version} is a ${declared.toUpperCase()} bump but the change needs a ${step.toUpperCase()} (${reasons})`,
      );
    }
  }
  return problems;
}
