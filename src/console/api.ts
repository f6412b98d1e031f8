/** The console's only way to read data: GraphQL over HTTP with the key the user gave. */
import type { TypedDocumentString } from '../generated/graphql';

/** What the API said went wrong, as it said it: shown to the user verbatim. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: unknown } }>;
}

export type Query = <TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
) => Promise<TResult>;

/** A query function posting to `endpoint` with the key `key()` returns at the time of the call. */
export function httpQuery(endpoint: string, key: () => string): Query {
  return async <TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key() },
        body: JSON.stringify({ query: document.toString(), variables }),
      });
    } catch (error) {
      throw new ApiError(
        `the API did not answer: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
      );
    }
    const answer = (await response.json().catch(() => ({}))) as GraphQLAnswer<TResult>;
    const [first] = answer.errors ?? [];
    if (first) {
      const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
      throw new ApiError((answer.errors ?? []).map((error) => error.message).join('; '), code);
    }
    if (!response.ok || !answer.data)
      throw new ApiError(`the API answered HTTP ${response.status}`, undefined);
    return answer.data;
  };
}
