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
 * - `self`: a user token's subject equals the named argument.
 */
export type FieldRule = { scope: Scope; whenAbsent?: string } | { self: string };

export function allows(
  principal: Principal,
  rules: readonly FieldRule[],
  args: Record<string, unknown>,
): boolean {
  return rules.some((rule) => {
    if ('self' in rule) return principal.userId !== undefined && args[rule.self] === principal.userId;
    if (!principal.scopes.has(rule.scope)) return false;
    return (
      rule.whenAbsent === undefined || args[rule.whenAbsent] === undefined || args[rule.whenAbsent] === null
    );
  });
}

/** The scopes a field's rules name, for docs and error messages. */
export function describeRules(rules: readonly FieldRule[]): string {
  return rules
    .map((rule) =>
      'self' in rule
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
