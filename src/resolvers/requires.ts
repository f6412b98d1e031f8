import { Authorized } from 'type-graphql';
import type { FieldRule } from '../access/principal';
import type { Scope } from '../access/scopes';

/**
 * Declares what a field needs; the auth checker (src/api/auth-checker.ts) refuses the field with
 * FORBIDDEN before its resolver runs unless one of the rules holds. Every root field has one.
 */
export const Requires = (...rules: FieldRule[]): MethodDecorator & PropertyDecorator & ClassDecorator =>
  Authorized<FieldRule>(...rules);

export const needs = (scope: Scope): FieldRule => ({ scope });
