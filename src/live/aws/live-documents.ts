import { randomUUID } from 'node:crypto';
import {
  buildSchema,
  executeSync,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { liveFilterProblem, type LiveEvent, type LiveEventFilter } from '../live-event';
import type { LiveSubscriptionRequest } from './connection-table';

/** The subscription field the AWS transport serves, and the only one. */
export const LIVE_FIELD = 'liveEvents';
/** Lexical tokens one subscription document may hold (a full LiveEvent selection takes about 40). */
const MAX_DOCUMENT_TOKENS = 2000;
/** Parsed documents kept per process, so a publish does not parse each subscription's again. */
const MAX_CACHED_DOCUMENTS = 500;

export type LiveDocumentCheck =
  | { ok: true; request: LiveSubscriptionRequest; filter: LiveEventFilter | null }
  | { ok: false; errors: GraphQLFormattedError[] };

/**
 * Subscription documents of the AWS transport, against the API's own schema (its SDL,
 * schema.graphql): checked once at `subscribe` (exactly one `liveEvents` subscription, valid, its
 * filter within bounds), then run for every event the subscriber is sent, so each `next` carries
 * exactly the fields, aliases and fragments it asked for. Nothing goes through Apollo: the event is
 * the root value and every field resolves by its name.
 */
export class LiveDocuments {
  private readonly schema: GraphQLSchema;
  private readonly field: GraphQLField<unknown, unknown>;
  private readonly parsed = new Map<string, DocumentNode>();

  constructor(schemaSdl: string) {
    this.schema = buildSchema(schemaSdl);
    const field = this.schema.getSubscriptionType()?.getFields()[LIVE_FIELD];
    if (!field) throw new Error(`the schema has no Subscription.${LIVE_FIELD} field`);
    this.field = field;
  }

  /** Whether `request` is a valid `liveEvents` subscription, and its filter. */
  check(request: LiveSubscriptionRequest): LiveDocumentCheck {
    let document: DocumentNode;
    try {
      document = parse(request.query, { maxTokens: MAX_DOCUMENT_TOKENS });
    } catch (error) {
      return refused(error instanceof GraphQLError ? error : new GraphQLError(String(error)));
    }
    const invalid = validate(this.schema, document);
    if (invalid.length > 0) return { ok: false, errors: invalid.map((error) => error.toJSON()) };
    const operation = getOperationAST(document, request.operationName);
    if (!operation) return refused(new GraphQLError('name the operation to run (operationName)'));
    const root = operation.selectionSet.selections[0];
    // Validation leaves a subscription exactly one root field; it must be ours and not inside a fragment.
    if (
      operation.operation !== 'subscription' ||
      operation.selectionSet.selections.length !== 1 ||
      root?.kind !== Kind.FIELD ||
      root.name.value !== LIVE_FIELD
    ) {
      return refused(new GraphQLError(`only a \`${LIVE_FIELD}\` subscription is served here`));
    }
    const variables = getVariableValues(
      this.schema,
      operation.variableDefinitions ?? [],
      request.variables ?? {},
      { maxErrors: 10 },
    );
    if (variables.errors) return { ok: false, errors: variables.errors.map((error) => error.toJSON()) };
    let filter: LiveEventFilter | null;
    try {
      filter = (getArgumentValues(this.field, root as FieldNode, variables.coerced).filter ??
        null) as LiveEventFilter | null;
    } catch (error) {
      return refused(error instanceof GraphQLError ? error : new GraphQLError(String(error)));
    }
    const problem = liveFilterProblem(filter);
    if (problem !== null) {
      return refused(new GraphQLError(problem, { extensions: { code: 'BAD_USER_INPUT' } }));
    }
    this.remember(request.query, document);
    return { ok: true, request, filter: filter === null ? null : { ...filter } };
  }

  /** The `next` payload that sends `event` to a subscriber of a checked `request`. */
  render(request: LiveSubscriptionRequest, event: LiveEvent): Record<string, unknown> {
    let document = this.parsed.get(request.query);
    if (document === undefined) {
      document = parse(request.query, { maxTokens: MAX_DOCUMENT_TOKENS });
      this.remember(request.query, document);
    }
    const result = executeSync({
      schema: this.schema,
      document,
      rootValue: { [LIVE_FIELD]: liveEventObject(event) },
      variableValues: request.variables ?? undefined,
      operationName: request.operationName ?? undefined,
    });
    return result.errors
      ? { data: result.data ?? null, errors: result.errors.map((error) => error.toJSON()) }
      : { data: result.data ?? null };
  }

  private remember(query: string, document: DocumentNode): void {
    if (this.parsed.size >= MAX_CACHED_DOCUMENTS) this.parsed.clear();
    this.parsed.set(query, document);
  }
}

/**
 * A live event as the GraphQL `LiveEvent` type shows it: enum values in capitals, and an id for a
 * record so broken that it named none.
 */
export function liveEventObject(event: LiveEvent): Record<string, unknown> {
  return {
    ...event,
    messageId: event.messageId ?? `unknown-${randomUUID()}`,
    failureType: event.failureType === null ? null : event.failureType.toUpperCase(),
  };
}

function refused(error: GraphQLError): LiveDocumentCheck {
  return { ok: false, errors: [error.toJSON()] };
}
