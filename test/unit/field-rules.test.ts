import 'reflect-metadata';
import { getMetadataStorage } from 'type-graphql';
import type { FieldRule } from '../../src/access/principal';
import { buildTributarySchema } from '../../src/api/build-schema';

describe('field rules', () => {
  it('every Query, Mutation and Subscription field declares what it needs', () => {
    const schema = buildTributarySchema();
    const rootFields = [
      schema.getQueryType(),
      schema.getMutationType(),
      schema.getSubscriptionType(),
    ].flatMap((type) => Object.keys(type?.getFields() ?? {}));
    const declared = new Map(
      getMetadataStorage().authorizedFields.map((field) => [field.fieldName, field.roles as FieldRule[]]),
    );
    const undeclared = rootFields.filter((field) => (declared.get(field) ?? []).length === 0);
    expect(rootFields.length).toBeGreaterThan(15);
    expect(undeclared).toEqual([]);
  });
});
