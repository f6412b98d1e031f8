import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getMetadataStorage, validateSync } from 'class-validator';
import { cleanRecord } from '../../src/events/clean-record';
import { envelopeErrors, trackEventFromRecord } from '../../src/events/envelope';
import {
  ENVELOPE_RULES,
  EVENT_NAME_PATTERN,
  SHAPE_RULES,
  textLength,
  type FieldRule,
  type FieldRules,
  type TextRule,
} from '../../src/events/envelope-rules';
import { SchemaRegistry } from '../../src/events/schema-registry';
import type { EventEnvelope } from '../../src/events/types';
import {
  AppContextInput,
  EventContextInput,
  LibraryContextInput,
  PageContextInput,
  TrackEventInput,
} from '../../src/schema/event.input';

type Json = Record<string, unknown>;

/** Every rule in the table with its path, groups before their fields. */
function allRules(rules: FieldRules = ENVELOPE_RULES, prefix: string[] = []) {
  const out: Array<{ path: string[]; rule: FieldRule }> = [];
  for (const [name, rule] of Object.entries(rules)) {
    out.push({ path: [...prefix, name], rule });
    if (rule.type === 'group') out.push(...allRules(rule.fields, [...prefix, name]));
  }
  return out;
}

const textSample = (rule: TextRule) => rule.example ?? 'x';

const emptyAllowed = (rule: TextRule) =>
  !rule.nonEmpty && (rule.pattern === undefined || rule.pattern.test(''));

/** A valid value of exactly `length` characters: the example, grown with its own last character. */
const grown = (rule: TextRule, length: number) => {
  const sample = textSample(rule);
  return sample.padEnd(length, sample.at(-1));
};

function sample(rule: FieldRule): unknown {
  switch (rule.type) {
    case 'text':
      return textSample(rule);
    case 'date-time':
      return '2026-05-04T11:00:00.000Z';
    case 'object':
      return {};
    case 'group':
      return minimal(rule.fields);
  }
}

/** The smallest valid group: its required fields, and one of each "required unless" pair. */
function minimal(rules: FieldRules): Json {
  const out: Json = {};
  for (const [name, rule] of Object.entries(rules)) if (rule.required === true) out[name] = sample(rule);
  for (const [name, rule] of Object.entries(rules)) {
    const { required } = rule;
    if (typeof required === 'object' && out[name] === undefined && out[required.unless] === undefined)
      out[name] = sample(rule);
  }
  return out;
}

const ABSENT = Symbol('absent');

/** A minimal valid record with `value` at `at` (or nothing there), its parent groups made minimal. */
function recordWith(at: string[], value: unknown, change: (group: Json) => void = () => {}): Json {
  const record = minimal(ENVELOPE_RULES);
  let group = record;
  let rules: FieldRules = ENVELOPE_RULES;
  for (const name of at.slice(0, -1)) {
    const rule = rules[name];
    if (rule?.type !== 'group') throw new Error(`${at.join('.')}: ${name} is not a group`);
    group[name] ??= minimal(rule.fields);
    group = group[name] as Json;
    rules = rule.fields;
  }
  const leaf = at.at(-1) as string;
  if (value === ABSENT) delete group[leaf];
  else group[leaf] = value;
  change(group);
  return record;
}

/** The record as the edge holds it: its date-times as Dates, as GraphQL's DateTime scalar gives them. */
function withDates(value: Json, rules: FieldRules): Json {
  const out: Json = { ...value };
  for (const [name, rule] of Object.entries(rules)) {
    const field = out[name];
    if (rule.type === 'date-time' && typeof field === 'string') out[name] = new Date(field);
    if (rule.type === 'group' && typeof field === 'object' && field !== null && !Array.isArray(field))
      out[name] = withDates(field as Json, rule.fields);
  }
  return out;
}

/** The GraphQL input class of each group, by its path. */
const INPUT_CLASSES: Record<string, new () => object> = {
  '': TrackEventInput,
  context: EventContextInput,
  'context.page': PageContextInput,
  'context.app': AppContextInput,
  'context.library': LibraryContextInput,
};

function inputClass(at: string[]): new () => object {
  const found = INPUT_CLASSES[at.join('.')];
  if (found === undefined) throw new Error(`no GraphQL input class for the group ${at.join('.')}`);
  return found;
}

/** The record as type-graphql hands it to a resolver: class instances all the way down, dates as Dates. */
function asInput(value: Json, rules: FieldRules = ENVELOPE_RULES, at: string[] = []): object {
  const out: Json = { ...value };
  for (const [name, rule] of Object.entries(rules)) {
    const field = out[name];
    if (rule.type === 'date-time' && typeof field === 'string') out[name] = new Date(field);
    if (rule.type === 'group' && typeof field === 'object' && field !== null && !Array.isArray(field))
      out[name] = asInput(field as Json, rule.fields, [...at, name]);
  }
  return Object.assign(new (inputClass(at))(), out);
}

const place = { shardId: 'shardId-000000000000', sequenceNumber: '1' };
const origin = {
  receivedAt: '2026-05-04T12:00:00.000Z',
  source: 'graphql',
  sourceIp: '192.0.2.1',
  processorVersion: 'v',
  mayMergeUsers: false,
};

/** Whether each consumer of the rules takes the record, and the pointers of the edge's errors. */
function verdicts(record: Json) {
  // Mistyped values included: GraphQL would stop them first, but the rules refuse them on their own too.
  const edgeErrors = envelopeErrors(withDates(record, ENVELOPE_RULES) as unknown as EventEnvelope);
  const read = trackEventFromRecord(record);
  const streamErrors = [...read.errors, ...envelopeErrors(read.input)];
  return {
    verdicts: {
      edge: edgeErrors.length === 0,
      stream: streamErrors.length === 0,
      fastPath: cleanRecord(record, place, origin) !== null,
      graphqlInput:
        validateSync(asInput(record), { forbidUnknownValues: false, stopAtFirstError: true }).length === 0,
    },
    edgePaths: edgeErrors.map((e) => e.path),
  };
}

interface Case {
  name: string;
  record: Json;
  valid: boolean;
}

/** What each rule promises, as records that must be taken or refused. */
function casesFor(at: string[], rule: FieldRule): Case[] {
  const cases: Case[] = [];
  const add = (name: string, value: unknown, valid: boolean, change?: (group: Json) => void) =>
    cases.push({ name, record: recordWith(at, value, change), valid });

  const { required } = rule;
  if (typeof required === 'object') {
    add(`absent, with ${required.unless}`, ABSENT, true, (g) => (g[required.unless] ??= 'given'));
    add(`absent, without ${required.unless}`, ABSENT, false, (g) => delete g[required.unless]);
  } else {
    add('absent', ABSENT, !required);
  }
  add('a valid value', sample(rule), true);

  switch (rule.type) {
    case 'text': {
      add('a number', 42, false);
      const { maxLength, pattern } = rule;
      if (maxLength !== undefined) {
        add(`${maxLength} characters`, grown(rule, maxLength), true);
        add(`${maxLength + 1} characters`, grown(rule, maxLength + 1), false);
      }
      add('an empty string', '', emptyAllowed(rule));
      if (pattern !== undefined) {
        const breaking = ` ${textSample(rule)}`;
        if (pattern.test(breaking))
          throw new Error(`${at.join('.')}: "${breaking}" was meant to break the pattern`);
        add(`"${breaking}", which breaks ${pattern.source}`, breaking, false);
      }
      break;
    }
    case 'date-time':
      add('a text that is no date-time', 'yesterday', false);
      break;
    case 'object':
      add('an array', [1], false);
      break;
    case 'group':
      add('a text', 'web', false);
      break;
  }
  return cases;
}

const everyCase = allRules().flatMap(({ path: at, rule }) =>
  casesFor(at, rule).map((c): [string, Case, string[]] => [`${at.join('.')}: ${c.name}`, c, at]),
);

describe('the envelope rules', () => {
  it.each(everyCase)('edge, stream, fast path and GraphQL input agree on %s', (_, { record, valid }, at) => {
    const { verdicts: seen, edgePaths } = verdicts(record);
    expect(seen).toEqual({ edge: valid, stream: valid, fastPath: valid, graphqlInput: valid });
    if (!valid) expect(edgePaths).toContain(`/${at.join('/')}`);
  });

  it.each(
    allRules()
      .filter(({ rule }) => rule.type === 'group')
      .map(({ path: at, rule }) => ({ name: at.join('.'), at, rule })),
  )(
    'the stream keeps or drops what $name holds beyond its rules, and the fast path never stores what it would drop',
    ({ at, rule }) => {
      if (rule.type !== 'group') throw new Error('a group was expected');
      const record = recordWith(at, { ...minimal(rule.fields), unnamed: 'u' });
      const read = trackEventFromRecord(record).input as unknown as Json;
      const group = at.reduce<Json>((value, name) => value[name] as Json, read);
      const fast = cleanRecord(record, place, origin);
      if (rule.otherKeys === 'kept') {
        expect(group.unnamed).toBe('u');
        expect(fast).not.toBeNull();
      } else {
        expect(group).not.toHaveProperty('unnamed');
        expect(fast).toBeNull();
      }
    },
  );

  it.each(Object.entries(INPUT_CLASSES))(
    'the GraphQL input of %p validates exactly the fields its group has rules for',
    (at, inputClassOfGroup) => {
      let rules: FieldRules = ENVELOPE_RULES;
      for (const name of at === '' ? [] : at.split('.')) {
        const rule = rules[name];
        if (rule?.type !== 'group') throw new Error(`${at} is not a group of the envelope rules`);
        rules = rule.fields;
      }
      const validated = getMetadataStorage()
        .getTargetValidationMetadatas(inputClassOfGroup, '', true, false)
        .map((m) => m.propertyName);
      expect([...new Set(validated)].sort()).toEqual(Object.keys(rules).sort());
    },
  );

  it('count lengths in characters, an emoji or an accented letter as one, like the GraphQL input', () => {
    const max = ENVELOPE_RULES.userId.maxLength;
    const emoji = '😀'.repeat(max);
    expect(textLength(emoji)).toBe(max);
    expect(textLength('\u2764\uFE0F'.repeat(max))).toBe(max);
    const edge = (userId: string) => envelopeErrors({ event: 'page_viewed', userId });
    const input = (userId: string) =>
      validateSync(Object.assign(new TrackEventInput(), { event: 'page_viewed', userId }), {
        stopAtFirstError: true,
      });
    expect(edge(emoji)).toEqual([]);
    expect(input(emoji)).toEqual([]);
    expect(edge(`${emoji}😀`).map((e) => e.path)).toEqual(['/userId']);
    expect(input(`${emoji}😀`)).toHaveLength(1);
    // The fast path counts UTF-16 units: it declines what it cannot be sure of and leaves it to the full path.
    expect(cleanRecord({ event: 'page_viewed', userId: emoji }, place, origin)).toBeNull();
  });

  it('name events for the schema registry too: a schema for an event name the envelope refuses does not load', () => {
    const registry = (event: string) =>
      new SchemaRegistry([{ event, version: '1-0-0', schema: { type: 'object' } }], {
        unknownEvents: 'reject',
      });
    const rule = ENVELOPE_RULES.event;
    expect(() => registry(grown(rule, rule.maxLength))).not.toThrow();
    expect(() => registry(grown(rule, rule.maxLength + 1))).toThrow('not a valid event name');
    expect(() => registry(`_${rule.example}`)).toThrow('not a valid event name');
    expect(EVENT_NAME_PATTERN.test(grown(rule, rule.maxLength + 1))).toBe(false);
  });
});

/** `{"a":{"a":…}}` with `levels` objects, the innermost holding `leaf`. */
function nestedObjects(levels: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let level = 0; level < levels; level++) value = { a: value };
  return value;
}

describe('the shape rules', () => {
  const { maxDepth, reservedKeys, parts } = SHAPE_RULES;
  const deepest = `${'/a'.repeat(maxDepth - 1)}`;

  /** The verdicts of the edge validator, the stream's full path and its fast path, with the edge's pointers. */
  function shapeVerdicts(record: Json) {
    const edgeErrors = envelopeErrors(record as unknown as EventEnvelope);
    const read = trackEventFromRecord(record);
    return {
      edge: edgeErrors.length === 0,
      stream: [...read.errors, ...envelopeErrors(read.input)].length === 0,
      fastPath: cleanRecord(record, place, origin) !== null,
      paths: edgeErrors.map((e) => e.path),
    };
  }
  const recordWithPart = (part: string, value: unknown): Json => ({
    ...minimal(ENVELOPE_RULES),
    [part]: value,
  });

  it.each(parts)('take %s nested exactly as deep as the limit, objects or arrays', (part) => {
    const asArrays = { a: JSON.parse(`${'['.repeat(maxDepth - 1)}1${']'.repeat(maxDepth - 1)}`) as unknown };
    for (const value of [nestedObjects(maxDepth), asArrays])
      expect(shapeVerdicts(recordWithPart(part, value))).toEqual({
        edge: true,
        stream: true,
        fastPath: true,
        paths: [],
      });
  });

  it.each(parts)('refuse %s one level deeper, at the pointer of the first level past the limit', (part) => {
    expect(shapeVerdicts(recordWithPart(part, nestedObjects(maxDepth + 1)))).toEqual({
      edge: false,
      stream: false,
      fastPath: false,
      paths: [`/${part}${deepest}/a`],
    });
  });

  it.each(parts.flatMap((part) => reservedKeys.map((key) => [part, key])))(
    'refuse %s holding the key %p anywhere, with its pointer',
    (part, key) => {
      for (const [json, pointer] of [
        [`{"${key}":1}`, `/${part}/${key}`],
        [`{"list":[{"ok":1},{"${key}":{"x":1}}]}`, `/${part}/list/1/${key}`],
      ] as const) {
        const record = recordWithPart(part, JSON.parse(json));
        expect(shapeVerdicts(record)).toEqual({
          edge: false,
          stream: false,
          fastPath: false,
          paths: [pointer],
        });
      }
    },
  );

  it('name the refused key in the message and escape it in the pointer', () => {
    const errors = envelopeErrors({
      event: 'page_viewed',
      userId: 'u',
      properties: JSON.parse('{"a/b":{"__proto__":{}}}') as Record<string, unknown>,
    });
    expect(errors).toEqual([
      {
        code: 'ENVELOPE_INVALID',
        path: '/properties/a~1b/__proto__',
        message: expect.stringContaining('"__proto__" is a reserved key') as unknown,
      },
    ]);
  });
});

/** The rules as the docs table shows them: a header, then one row of cells per field. */
function rulesTable(): string[][] {
  const rows = allRules().map(({ path: at, rule }) => {
    const { required } = rule;
    const text = rule.type === 'text' ? rule : undefined;
    return [
      `\`${at.join('.')}\``,
      rule.type === 'group' ? `object, other keys ${rule.otherKeys}` : rule.type,
      typeof required === 'object' ? `unless \`${required.unless}\`` : required ? 'yes' : 'no',
      text === undefined ? '' : emptyAllowed(text) ? 'yes' : 'no',
      text?.maxLength?.toString() ?? '',
      // A pipe inside a cell is written \\| in Markdown.
      text?.pattern ? `\`${text.pattern.source.replaceAll('|', '\\|')}\`` : '',
    ];
  });
  return [['Field', 'Type', 'Required', 'Empty allowed', 'Max length', 'Pattern'], ...rows];
}

/** The cells of the first Markdown table in `markdown`, without its delimiter row, however it is aligned. */
function tableCells(markdown: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
  return lines
    .slice(start, end === -1 ? undefined : end)
    .filter((line) => !/^\|[\s:|-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

describe('docs/events.md', () => {
  const doc = readFileSync(path.join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');

  it('shows the envelope rules as the table has them', () => {
    const heading = doc.indexOf('\n## Envelope rules\n');
    expect(heading).toBeGreaterThan(-1);
    expect(tableCells(doc.slice(heading))).toEqual(rulesTable());
  });

  it('shows the shape rules as the table has them', () => {
    const heading = doc.indexOf('\n### Keys and nesting\n');
    expect(heading).toBeGreaterThan(-1);
    const code = (names: readonly string[]) => names.map((name) => `\`${name}\``).join(', ');
    expect(tableCells(doc.slice(heading))).toEqual([
      ['Rule', 'Applies to', 'Limit'],
      ['Nesting', code(SHAPE_RULES.parts), `${SHAPE_RULES.maxDepth} levels of objects and arrays`],
      ['Reserved keys', code(SHAPE_RULES.parts), code(SHAPE_RULES.reservedKeys)],
    ]);
  });
});
