import type { ApolloServerPlugin } from '@apollo/server';
import {
  Kind,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  typeFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import type { ApiKeyKind } from '../access/scopes';
import type { RequestContext } from '../resolvers/context';
import { ApiError } from '../services/errors';

export interface QueryBudgetOptions {
  /** The most an operation may cost, per kind of key (costs are declared on the fields). */
  budget: Record<ApiKeyKind, number>;
  /** How often one root field may be asked for under different aliases in one operation. */
  maxAliasesPerRootField: number;
}

const tooComplex = (message: string): ApiError => new ApiError('QUERY_TOO_COMPLEX', message, 400);

/**
 * Prices every operation before it runs and refuses it, with nothing executed, when it costs more
 * than the caller's budget or repeats a root field under too many aliases: one request must not be
 * able to keep the API (or the warehouse) busy for everyone else. Fields declare their cost with
 * type-graphql's `complexity` option; list fields multiply their children by their `limit`.
 */
export function queryBudgetPlugin(options: QueryBudgetOptions): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request, contextValue }) {
          if (!operation) return;
          const refusal = overBudget(options, {
            schema,
            document,
            operation,
            variables: request.variables ?? {},
            kind: contextValue.principal.kind,
          });
          if (refusal) throw refusal;
        },
      };
    },
  };
}

/**
 * Why an operation is refused by QueryBudgetOptions (QUERY_TOO_COMPLEX), or undefined when it is
 * within them. The plugin above applies it over HTTP, the WebSocket server to subscriptions.
 */
export function overBudget(
  options: QueryBudgetOptions,
  request: {
    schema: GraphQLSchema;
    document: DocumentNode;
    operation: OperationDefinitionNode;
    variables: Record<string, unknown>;
    kind: ApiKeyKind;
  },
): ApiError | undefined {
  const { schema, document, operation, variables, kind } = request;
  const fragments = fragmentsOf(document);
  for (const [field, count] of rootFieldCounts(operation.selectionSet, fragments)) {
    if (count > options.maxAliasesPerRootField)
      return tooComplex(
        `${field} is asked for ${count} times; at most ${options.maxAliasesPerRootField} per operation`,
      );
  }
  const cost = cachedCost(schema, document, operation, variables);
  const budget = options.budget[kind];
  if (cost > budget) return tooComplex(`this operation costs ${cost}; a ${kind} key may spend ${budget}`);
  return undefined;
}

const estimators = [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })];

/** Costs per document (Apollo hands the same parsed document for the same text) and priced variables. */
const costs = new WeakMap<DocumentNode, Map<string, number>>();
const MAX_COSTS_PER_DOCUMENT = 64;

/**
 * A document's cost, computed once for each set of the variables a cost can depend on: numbers
 * and lists (a `limit`, funnel `steps`) and booleans (`@include(if:)`). Ids, strings, dates and
 * enums change what is read, not how much, so a frontend asking the same query for many users is
 * priced once.
 */
function cachedCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  const key = JSON.stringify([operation.name?.value ?? null, costVariables(schema, operation, variables)]);
  let byVariables = costs.get(document);
  if (byVariables === undefined) costs.set(document, (byVariables = new Map()));
  const known = byVariables.get(key);
  if (known !== undefined) return known;
  const cost = operationCost(schema, document, operation, variables);
  if (byVariables.size >= MAX_COSTS_PER_DOCUMENT) byVariables.clear();
  byVariables.set(key, cost);
  return cost;
}

function costVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Array<[string, unknown]> {
  const kept: Array<[string, unknown]> = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type);
    const nullable = type && (isNonNullType(type) ? type.ofType : type);
    const named = type && getNamedType(type);
    // Lists of input objects are priced as empty (see pricingVariables), so they do not matter.
    const matters =
      named !== undefined &&
      ((isListType(nullable) && !isInputObjectType(named)) ||
        ['Int', 'Float', 'Boolean'].includes(named.name));
    const name = definition.variable.name.value;
    if (matters) kept.push([name, variables[name] ?? null]);
  }
  return kept;
}

/** What one operation of a document costs against a budget. */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): number {
  return getComplexity({
    schema,
    query: document,
    operationName: operation.name?.value,
    variables: pricingVariables(schema, operation, variables),
    estimators,
  });
}

/**
 * The variables as the estimators see them. Pricing coerces every argument again, and a
 * `trackEvents` batch of 500 events would cost more to price than to check; lists of input
 * objects are priced as empty, since no cost here depends on their length (costs read `limit`,
 * `steps` and other scalars, which stay as sent).
 */
function pricingVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  let priced: Record<string, unknown> | undefined;
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type);
    const list = type && (isNonNullType(type) ? type.ofType : type);
    if (isListType(list) && isInputObjectType(getNamedType(list))) {
      priced ??= { ...variables };
      priced[definition.variable.name.value] = [];
    }
  }
  return priced ?? variables;
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return fragments;
}

/** How many times each root field is selected, through fragments too. */
export function rootFieldCounts(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  counts = new Map<string, number>(),
  seen = new Set<string>(),
): Map<string, number> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      counts.set(selection.name.value, (counts.get(selection.name.value) ?? 0) + 1);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootFieldCounts(selection.selectionSet, fragments, counts, seen);
    } else {
      const fragment = fragments.get(selection.name.value);
      // A fragment spread twice counts twice; a cycle is invalid GraphQL and refused by validation.
      if (fragment && !seen.has(fragment.name.value)) {
        seen.add(fragment.name.value);
        rootFieldCounts(fragment.selectionSet, fragments, counts, seen);
        seen.delete(fragment.name.value);
      }
    }
  }
  return counts;
}
