/**
 * The API key a graphql-ws client sends in `connectionParams`: `x-api-key`, or
 * `authorization: Bearer <key>`, the forms the HTTP API reads from headers. One reader for the
 * embedded stack's socket server and the AWS socket function, so both accept the same clients.
 */
export function connectionKey(params: Record<string, unknown> | undefined): string | undefined {
  const direct = params?.['x-api-key'];
  if (typeof direct === 'string' && direct !== '') return direct;
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization !== 'string') return undefined;
  return /^Bearer\s+(\S+)$/i.exec(authorization.trim())?.[1];
}
