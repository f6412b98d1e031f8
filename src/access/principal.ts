import type { ApiKeyKind, Scope } from './scopes';

/** Who is calling: the key that authenticated the request and, with a user token, the one user it speaks for. */
export interface Principal {
  keyId: string;
  kind: ApiKeyKind;
  scopes: ReadonlySet<Scope>;
  /** The `sub` of a verified user token sent with the request; undefined without one. */
  userId?: string;
}

/**
 * What a field needs; a field is allowed when any one of its rules holds.
 * - `scope`: the key holds the scope;
 * - `scope` + `whenAbsent`: the key holds the scope and the named argument is absent or null;
 * - `self`: a user token's subject equals the named argument;
 * - `person`: a user token's subject belongs to the same person as the named argument (one of the
 *   person's linked ids, docs/identity.md); `allows` cannot know that, `allowsPerson` checks it.
 */
export type FieldRule = { scope: Scope; whenAbsent?: string } | { self: string } | { person: string };

export function allows(
  principal: Principal,
  rules: readonly FieldRule[],
  args: Record<string, unknown>,
): boolean {
  return rules.some((rule) => {
    if ('person' in rule) return principal.userId !== undefined && args[rule.person] === principal.userId;
    if ('self' in rule) return principal.userId !== undefined && args[rule.self] === principal.userId;
    if (!principal.scopes.has(rule.scope)) return false;
    return (
      rule.whenAbsent === undefined || args[rule.whenAbsent] === undefined || args[rule.whenAbsent] === null
    );
  });
}

/**
 * Whether a `person` rule holds where `allows` found none did: the user token's subject and the
 * named argument are ids of one person, as `samePerson` resolves them.
 */
export async function allowsPerson(
  principal: Principal,
  rules: readonly FieldRule[],
  args: Record<string, unknown>,
  samePerson: (id: string, otherId: string) => Promise<boolean>,
): Promise<boolean> {
  const { userId } = principal;
  if (userId === undefined) return false;
  for (const rule of rules) {
    if (!('person' in rule)) continue;
    const id = args[rule.person];
    if (typeof id === 'string' && (await samePerson(id, userId))) return true;
  }
  return false;
}

/** The scopes a field's rules name, for docs and error messages. */
export function describeRules(rules: readonly FieldRule[]): string {
  return rules
    .map((rule) =>
      'person' in rule
        ? `a user token for the person of \`${rule.person}\``
        : 'self' in rule
          ? `a user token for \`${rule.self}\``
          : rule.whenAbsent
            ? `${rule.scope} without \`${rule.whenAbsent}\``
            : rule.scope,
    )
    .join(' or ');
}

/**
 * Two principals with the same fingerprint are allowed exactly the same fields, so an answer
 * computed for one may be served to the other (the hot-tier answer cache keys on it).
 */
export function accessFingerprint(principal: Principal): string {
  return `${[...principal.scopes].sort().join(',')}|${principal.userId ?? ''}`;
}
