import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pseudonym, pseudonymise } from '../../src/events/enrich/pii';
import { propertyErrors, SchemaRegistry } from '../../src/events/schema-registry';
import { checkSchemaDirectory, findSchemasDir, readSchemaDirectory } from '../../src/services/schema-files';
import { checkSchemaHistory, requiredStep, type SchemaVersionDocument } from '../../src/events/schema-compat';
import { parseSchemaVer, stepBetween } from '../../src/events/schemaver';

const object = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  ...extra,
});

describe('the shipped schemas/', () => {
  const documents = readSchemaDirectory(findSchemasDir());
  const byEvent = new Map<string, typeof documents>();
  for (const doc of documents) byEvent.set(doc.event, [...(byEvent.get(doc.event) ?? []), doc]);

  it('hold the e-commerce starter set and compile', () => {
    const registry = new SchemaRegistry(documents, { unknownEvents: 'reject' });
    expect(registry.events()).toEqual(
      expect.arrayContaining([
        'page_viewed',
        'product_viewed',
        'product_added_to_cart',
        'product_removed_from_cart',
        'checkout_started',
        'order_completed',
        'search_performed',
        'identify',
      ]),
    );
  });

  it('pass the check the CDK app runs before bundling them, which fails on a broken folder', () => {
    expect(() => checkSchemaDirectory(findSchemasDir())).not.toThrow();
    const dir = mkdtempSync(path.join(tmpdir(), 'schemas-'));
    try {
      mkdirSync(path.join(dir, 'odd'));
      writeFileSync(path.join(dir, 'odd', '1-0-0.json'), JSON.stringify(object({}, { unknownWord: 1 })));
      expect(() => checkSchemaDirectory(dir)).toThrow(
        expect.objectContaining({ code: 'SCHEMA_FILE_INVALID' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('each compile: the registry compiles a schema when first used, so a broken one shows here', () => {
    const registry = new SchemaRegistry(documents, { unknownEvents: 'reject' });
    for (const doc of documents) {
      const resolved = registry.resolve(doc.event, doc.version);
      expect(resolved.kind === 'schema' && typeof resolved.schema.validate).toBe('function');
    }
  });

  it('declare the items of an order as its products, and of a product event as its product_id', () => {
    const registry = new SchemaRegistry(documents, { unknownEvents: 'reject' });
    const order = registry.resolve('order_completed');
    expect(order.kind === 'schema' && order.schema).toMatchObject({
      itemProperty: null,
      itemList: { property: 'products', itemProperty: 'product_id' },
    });
    const purchase = registry.resolve('product_purchased');
    expect(purchase.kind === 'schema' && purchase.schema).toMatchObject({
      itemProperty: 'product_id',
      itemList: null,
    });
  });

  it.each([...byEvent.keys()])('%s: every version bump keeps the rules of its SchemaVer step', (event) => {
    const versions = (byEvent.get(event) ?? []).map((d) => ({
      version: d.version,
      schema: d.schema as SchemaVersionDocument['schema'],
    }));
    expect(checkSchemaHistory(event, versions)).toEqual([]);
  });
});

describe('SchemaVer', () => {
  it('parses versions and names the step between two', () => {
    expect(parseSchemaVer('2-10-0')).toEqual({ model: 2, revision: 10, addition: 0 });
    expect(() => parseSchemaVer('1.0.0')).toThrow(
      expect.objectContaining({ code: 'SCHEMA_VERSION_INVALID' }),
    );
    expect(stepBetween(parseSchemaVer('1-0-0'), parseSchemaVer('1-0-1'))).toBe('addition');
    expect(stepBetween(parseSchemaVer('1-0-3'), parseSchemaVer('1-1-0'))).toBe('revision');
    expect(stepBetween(parseSchemaVer('1-4-2'), parseSchemaVer('2-0-0'))).toBe('model');
    expect(stepBetween(parseSchemaVer('1-0-0'), parseSchemaVer('1-0-2'))).toEqual({
      invalid: expect.any(String),
    });
    expect(stepBetween(parseSchemaVer('1-0-1'), parseSchemaVer('1-1-1'))).toEqual({
      invalid: expect.any(String),
    });
  });
});

describe('requiredStep', () => {
  const closed = (properties: Record<string, unknown>, extra = {}) =>
    object(properties, { additionalProperties: false, ...extra });

  it('calls an optional field added to a closed object, or a widened bound, an ADDITION', () => {
    expect(
      requiredStep(
        closed({ a: { type: 'string' } }),
        closed({ a: { type: 'string' }, b: { type: 'integer' } }),
      ).step,
    ).toBe('addition');
    expect(
      requiredStep(
        object({ n: { type: 'integer', maximum: 5 } }),
        object({ n: { type: 'number', maximum: 9 } }),
      ).step,
    ).toBe('addition');
    expect(requiredStep(object({ e: { enum: ['a'] } }), object({ e: { enum: ['a', 'b'] } })).step).toBe(
      'addition',
    );
  });

  it('calls narrowing, or a typed field added to an open object, a REVISION', () => {
    expect(
      requiredStep(
        object({ a: { type: 'string' } }),
        object({ a: { type: 'string' }, b: { type: 'integer' } }),
      ).step,
    ).toBe('revision');
    expect(
      requiredStep(object({ n: { type: 'number' } }), object({ n: { type: 'number', minimum: 0 } })).step,
    ).toBe('revision');
    expect(
      requiredStep(object({ s: { type: ['string', 'integer'] } }), object({ s: { type: 'string' } })).step,
    ).toBe('revision');
    expect(requiredStep(object({ a: {} }), closed({ a: {} })).step).toBe('revision');
    expect(
      requiredStep(object({ a: { type: 'string' } }), object({ a: { type: 'string', 'x-pii': true } })).step,
    ).toBe('revision');
  });

  it('calls a new required field or a moved item property a MODEL change, with the path', () => {
    const { step, findings } = requiredStep(object({ a: {} }), object({ a: {} }, { required: ['a'] }));
    expect(step).toBe('model');
    expect(findings).toEqual([
      expect.objectContaining({ path: '/properties/a', message: 'a became required' }),
    ]);
    expect(
      requiredStep(
        object({ a: {}, b: {} }, { 'x-item-property': 'a' }),
        object({ a: {}, b: {} }, { 'x-item-property': 'b' }),
      ).step,
    ).toBe('model');
    const lines = { type: 'array', items: object({ id: {} }) };
    expect(
      requiredStep(
        object({ lines }),
        object({ lines }, { 'x-item-list': { property: 'lines', itemProperty: 'id' } }),
      ).findings,
    ).toEqual([
      expect.objectContaining({ step: 'model', message: expect.stringMatching(/^x-item-list changed/) }),
    ]);
  });

  it('fails a history whose bump is smaller than its change needs', () => {
    const history = [
      { version: '1-0-0', schema: object({ a: { type: 'string' } }) },
      { version: '1-0-1', schema: object({ a: { type: 'string' } }, { required: ['a'] }) },
    ];
    expect(checkSchemaHistory('x', history)).toEqual([
      expect.stringContaining('ADDITION bump but the change needs a MODEL'),
    ]);
    expect(checkSchemaHistory('x', [{ version: '1-0-1', schema: object({}) }])).toEqual([
      expect.stringContaining('must be 1-0-0'),
    ]);
  });
});

describe('SchemaRegistry', () => {
  const v1 = object(
    { sku: { type: 'string' }, email: { type: 'string', 'x-pii': true } },
    { 'x-item-property': 'sku' },
  );
  const v2 = object(
    { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
    { 'x-item-property': 'sku' },
  );
  const registry = new SchemaRegistry(
    [
      { event: 'thing', version: '1-0-0', schema: v1 },
      { event: 'thing', version: '1-1-0', schema: v2 },
    ],
    { unknownEvents: 'reject' },
  );

  it('resolves the latest version unless one is pinned, and reports unknown ones', () => {
    const latest = registry.resolve('thing');
    expect(latest.kind === 'schema' && latest.schema.ref).toBe('thing/1-1-0');
    const pinned = registry.resolve('thing', '1-0-0');
    expect(pinned.kind === 'schema' && pinned.schema.pii?.properties.get('email')?.hashed).toBe(true);
    expect(registry.resolve('thing', '3-0-0')).toMatchObject({
      kind: 'unknown',
      error: { path: '/schemaVersion' },
    });
    expect(registry.resolve('other')).toMatchObject({
      kind: 'unknown',
      error: { code: 'SCHEMA_UNKNOWN', path: '/event' },
    });
    const lenient = new SchemaRegistry([], { unknownEvents: 'accept' });
    expect(lenient.resolve('other')).toEqual({ kind: 'unchecked' });
  });

  it('reports every violation with a JSON pointer and the schema', () => {
    const resolved = registry.resolve('thing');
    if (resolved.kind !== 'schema') throw new Error('expected a schema');
    expect(propertyErrors(resolved.schema, { sku: 5, qty: 0 })).toEqual([
      { code: 'SCHEMA_VIOLATION', path: '/properties/sku', message: 'must be string (schema thing/1-1-0)' },
      { code: 'SCHEMA_VIOLATION', path: '/properties/qty', message: 'must be >= 1 (schema thing/1-1-0)' },
    ]);
  });

  describe('x-item-list', () => {
    const products = { type: 'array', items: object({ product_id: { type: ['string', 'integer'] } }) };
    const withList = (list: unknown, properties: Record<string, unknown> = { products }, extra = {}) =>
      new SchemaRegistry(
        [{ event: 'order', version: '1-0-0', schema: object(properties, { 'x-item-list': list, ...extra }) }],
        { unknownEvents: 'reject' },
      );

    it('names the array property and the property of its elements that hold the items', () => {
      const resolved = withList({ property: 'products', itemProperty: 'product_id' }).resolve('order');
      expect(resolved.kind === 'schema' && resolved.schema).toMatchObject({
        itemProperty: null,
        itemList: { property: 'products', itemProperty: 'product_id' },
      });
    });

    it.each([
      ['a string', 'products', /x-item-list must be \{ "property"/],
      ['a missing itemProperty', { property: 'products' }, /x-item-list must be/],
      ['an unknown key', { property: 'products', itemProperty: 'product_id', max: 5 }, /x-item-list must be/],
      [
        'a property the event lacks',
        { property: 'lines', itemProperty: 'product_id' },
        /property "lines" is not one of its properties/,
      ],
      [
        'an element property the elements lack',
        { property: 'products', itemProperty: 'sku' },
        /itemProperty "sku" is not a property of the elements of "products"/,
      ],
    ])('refuses %s with a clear error at load', (_case, list, message) => {
      expect(() => withList(list)).toThrow(message);
      expect(() => withList(list)).toThrow(
        expect.objectContaining({ name: 'SchemaRegistryError', code: 'SCHEMA_FILE_INVALID' }),
      );
    });

    it('refuses a property that is not an array of objects', () => {
      expect(() =>
        withList({ property: 'products', itemProperty: 'id' }, { products: { type: 'string' } }),
      ).toThrow(/order\/1-0-0: x-item-list property "products" must be an array/);
    });

    it('refuses a schema declaring both one item and a list', () => {
      expect(() =>
        withList(
          { property: 'products', itemProperty: 'product_id' },
          { products, sku: {} },
          { 'x-item-property': 'sku' },
        ),
      ).toThrow(/x-item-property and x-item-list both name items/);
    });
  });

  it('refuses broken schema files at start-up', () => {
    const load = (schema: unknown) => () =>
      new SchemaRegistry([{ event: 'bad', version: '1-0-0', schema }], { unknownEvents: 'accept' });
    expect(load({ type: 'array' })).toThrow(expect.objectContaining({ code: 'SCHEMA_FILE_INVALID' }));
    expect(load(object({}, { 'x-item-property': 'missing' }))).toThrow(/x-item-property/);
    expect(load(object({ a: {} }, { 'x-item-property': 'a' }))).not.toThrow();
    expect(load(object({ a: { type: 'strnig' } }))).toThrow(
      expect.objectContaining({ name: 'SchemaRegistryError' }),
    );
  });

  it('skips the meta-schema check for files checked ahead, and finds every problem when checking ahead', () => {
    // `type` names no JSON type: only the meta-schema says so.
    const misspelt = [{ event: 'bad', version: '1-0-0', schema: object({ a: { type: 'strnig' } }) }];
    expect(() => new SchemaRegistry(misspelt, { unknownEvents: 'accept' })).toThrow(
      expect.objectContaining({ code: 'SCHEMA_FILE_INVALID' }),
    );
    expect(() => new SchemaRegistry(misspelt, { unknownEvents: 'accept', checkedAhead: true })).not.toThrow();
    // What only compiling finds shows at once when checking ahead.
    const odd = [{ event: 'odd', version: '1-0-0', schema: object({}, { unknownWord: 1 }) }];
    const registry = new SchemaRegistry(odd, { unknownEvents: 'accept' });
    expect(() => registry.compileAll()).toThrow(expect.objectContaining({ code: 'SCHEMA_FILE_INVALID' }));
    // A good schema checked ahead validates events as ever.
    const good = new SchemaRegistry(
      [{ event: 'ok', version: '1-0-0', schema: object({ n: { type: 'integer' } }) }],
      {
        unknownEvents: 'accept',
        checkedAhead: true,
      },
    );
    const resolved = good.resolve('ok');
    if (resolved.kind !== 'schema') throw new Error('expected a schema');
    expect(resolved.schema.validate({ n: 1 })).toBe(true);
    expect(resolved.schema.validate({ n: 'one' })).toBe(false);
  });

  it('refuses what only compiling finds (strict mode) when the schema is first used', () => {
    const registry = new SchemaRegistry(
      [{ event: 'odd', version: '1-0-0', schema: object({}, { unknownWord: 1 }) }],
      {
        unknownEvents: 'accept',
      },
    );
    const resolved = registry.resolve('odd');
    expect(() => resolved.kind === 'schema' && resolved.schema.validate).toThrow(
      expect.objectContaining({ name: 'SchemaRegistryError', code: 'SCHEMA_FILE_INVALID' }),
    );
  });
});

describe('x-pii marks', () => {
  const load = (schema: unknown, event = 'signup') =>
    new SchemaRegistry([{ event, version: '1-0-0', schema }], { unknownEvents: 'reject' });
  /** The properties as the schema's marks leave them, hashed under the key `k`. */
  const hashed = (schema: unknown, properties: Record<string, unknown>, event = 'signup') => {
    const resolved = load(schema, event).resolve(event);
    if (resolved.kind !== 'schema') throw new Error('expected a schema');
    return resolved.schema.pii === null ? properties : pseudonymise(properties, resolved.schema.pii, 'k');
  };
  const h = (value: unknown) => pseudonym(value, 'k');
  const pii = { type: 'string', 'x-pii': true };

  it('reach fields at any depth: nested objects, array elements, additional properties', () => {
    const schema = object({
      contact: object({ email: pii, address: object({ street: pii }) }),
      people: { type: 'array', items: object({ name: pii, age: { type: 'integer' } }) },
      labels: { type: 'object', additionalProperties: pii },
      tuple: { type: 'array', items: [{ type: 'integer' }, pii], minItems: 2, additionalItems: false },
    });
    expect(
      hashed(schema, {
        contact: { email: 'a@example.com', address: { street: 'Main St 1', city: 'Ghent' } },
        people: [{ name: 'Ada', age: 36 }, { age: 40 }],
        labels: { home: 'Ada home', work: 'Ada work' },
        tuple: [1, 'secret'],
        plan: 'pro',
      }),
    ).toEqual({
      contact: { email: h('a@example.com'), address: { street: h('Main St 1'), city: 'Ghent' } },
      people: [{ name: h('Ada'), age: 36 }, { age: 40 }],
      labels: { home: h('Ada home'), work: h('Ada work') },
      tuple: [h(1), h('secret')],
      plan: 'pro',
    });
  });

  it('reach fields through allOf, anyOf, oneOf, if/then/else and $ref to a definition', () => {
    const schema = {
      type: 'object',
      definitions: { person: object({ name: pii }) },
      properties: { owner: { $ref: '#/definitions/person' } },
      allOf: [object({ email: pii })],
      anyOf: [object({ phone: pii }), object({ fax: pii })],
      if: object({ kind: { const: 'b2b' } }),
      then: object({ vat: pii }),
    };
    expect(
      hashed(schema, { owner: { name: 'Ada' }, email: 'e', phone: 'p', fax: 'f', kind: 'b2b', vat: 'v' }),
    ).toEqual({
      owner: { name: h('Ada') },
      email: h('e'),
      phone: h('p'),
      fax: h('f'),
      kind: 'b2b',
      vat: h('v'),
    });
  });

  it('apply to identify traits sent as properties.traits as to traits sent as properties', () => {
    const schema = object({ email: pii, plan: { type: 'string' } }, { additionalProperties: true });
    expect(hashed(schema, { email: 'a@example.com', plan: 'pro' }, 'identify')).toEqual({
      email: h('a@example.com'),
      plan: 'pro',
    });
    expect(hashed(schema, { traits: { email: 'a@example.com', plan: 'pro' } }, 'identify')).toEqual({
      traits: { email: h('a@example.com'), plan: 'pro' },
    });
    // Only identify carries traits: another event's `traits` property is its own business.
    expect(hashed(schema, { traits: { email: 'a@example.com' } })).toEqual({
      traits: { email: 'a@example.com' },
    });
  });

  it('leave a value that already is a pseudonym, so a hashed failed payload replays unchanged', () => {
    const schema = object({ email: pii });
    expect(hashed(schema, { email: h('a@example.com') })).toEqual({ email: h('a@example.com') });
  });

  it('let a pseudonym pass validation where the schema marks personal data, and nowhere else', () => {
    const schema = object(
      {
        email: { type: 'string', format: 'email', 'x-pii': true },
        code: { type: 'string', format: 'email' },
      },
      { required: ['email'] },
    );
    const resolved = load(schema).resolve('signup');
    if (resolved.kind !== 'schema') throw new Error('expected a schema');
    expect(propertyErrors(resolved.schema, { email: h('a@example.com') })).toEqual([]);
    expect(propertyErrors(resolved.schema, { email: 'not an email' }).map((e) => e.path)).toEqual([
      '/properties/email',
    ]);
    expect(propertyErrors(resolved.schema, { email: h('a'), code: h('b') }).map((e) => e.path)).toEqual([
      '/properties/code',
    ]);
  });

  it.each([
    ['under patternProperties', { type: 'object', patternProperties: { '^e': pii } }, /patternProperties/],
    ['under not', object({ a: { not: pii } }), /\/properties\/a\/not/],
    ['on the schema itself', { type: 'object', 'x-pii': true }, /would hash all properties/],
    [
      'inside a schema that refers to itself',
      {
        type: 'object',
        definitions: {
          node: object({ name: pii, children: { type: 'array', items: { $ref: '#/definitions/node' } } }),
        },
        properties: { tree: { $ref: '#/definitions/node' } },
      },
      /refers to itself/,
    ],
  ])('refuse a mark %s, which would leave values unhashed', (_case, schema, message) => {
    expect(() => load(schema)).toThrow(message);
    expect(() => load(schema)).toThrow(expect.objectContaining({ name: 'SchemaRegistryError' }));
  });

  it('name the schema whose marks apply to a failed record: pinned if it exists, else the newest', () => {
    const registry = new SchemaRegistry(
      [
        { event: 'signup', version: '1-0-0', schema: object({ email: pii }) },
        { event: 'signup', version: '1-1-0', schema: object({ email: pii, phone: pii }) },
      ],
      { unknownEvents: 'accept' },
    );
    expect(registry.piiSchemaFor('signup', '1-0-0')?.ref).toBe('signup/1-0-0');
    expect(registry.piiSchemaFor('signup', '7-0-0')?.ref).toBe('signup/1-1-0');
    expect(registry.piiSchemaFor('signup', 42)?.ref).toBe('signup/1-1-0');
    expect(registry.piiSchemaFor('other', undefined)).toBeNull();
    expect(registry.piiSchemaFor({ name: 'signup' }, undefined)).toBeNull();
  });
});
