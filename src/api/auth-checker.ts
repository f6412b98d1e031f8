import type { AuthCheckerFn } from 'type-graphql';
import { allows, allowsPerson, describeRules, type FieldRule } from '../access/principal';
import type { RequestContext } from '../resolvers/context';
import { forbidden } from '../services/errors';

/**
 * type-graphql's check for `@Requires` fields: the field runs only when one of its rules holds for
 * the request's principal; otherwise it alone fails with FORBIDDEN, and the other fields answer.
 */
export const authChecker: AuthCheckerFn<RequestContext, FieldRule> = async (
  { context, args, info },
  rules,
) => {
  if (allows(context.principal, rules, args)) return true;
  // Only a user token reaches the person check, which reads the hot tier to resolve the person.
  if (
    await allowsPerson(context.principal, rules, args, (id, other) =>
      context.services.profiles.samePerson(id, other),
    )
  ) {
    return true;
  }
  throw forbidden(`${info.parentType.name}.${info.fieldName} needs ${describeRules(rules)}`);
};
