import type { GraphQLResolveInfo } from 'graphql';
import { parseResolveInfo } from 'graphql-parse-resolve-info';
import type { ResolveTree } from 'graphql-parse-resolve-info';

/**
 * Whether the operation asks for `field` of `typeName` under the field being resolved, however it
 * is spelled: under an alias, in a fragment, or kept by @include/@skip. Lets a resolver skip work
 * whose result nobody reads.
 */
export function selectsField(info: GraphQLResolveInfo, typeName: string, field: string): boolean {
  const tree = parseResolveInfo(info) as ResolveTree | null;
  // No tree means the selection could not be read: do the work rather than leave a field unset.
  if (tree === null) return true;
  return Object.values(tree.fieldsByTypeName[typeName] ?? {}).some((selected) => selected.name === field);
}
