/** Calls the running stack's GraphQL API for a script; rejects with every error the API answered. */
export async function callApi<T>(
  url: string,
  apiKey: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as {
    data?: T | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  if (body.errors?.length || !body.data) {
    throw new Error(
      body.errors?.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n') ??
        `no answer (HTTP ${response.status})`,
    );
  }
  return body.data;
}

/** The local stack's GraphQL URL unless --url says otherwise. */
export const defaultGraphqlUrl = (): string => `http://127.0.0.1:${process.env.PORT ?? '4000'}/graphql`;
