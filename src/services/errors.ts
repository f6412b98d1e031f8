import { GraphQLError } from 'graphql';

/** Errors that reach GraphQL clients; `extensions.code` is stable and documented in docs/api.md. */
export class ApiError extends GraphQLError {
  constructor(
    code: string,
    message: string,
    httpStatus?: number,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, {
      extensions: httpStatus ? { code, http: httpHead(httpStatus, options?.headers) } : { code },
      originalError: options?.cause instanceof Error ? options.cause : undefined,
    });
    this.name = 'ApiError';
  }
}

/**
 * GraphQL servers answer an error's `extensions.http` status and headers (a Retry-After, say);
 * Apollo Server takes any Map of lower-case names as the headers.
 */
function httpHead(status: number, headers: Record<string, string> | undefined) {
  return headers ? { status, headers: new Map(Object.entries(headers)) } : { status };
}

export const unauthenticated = (message = 'a valid API key is required in the x-api-key header'): ApiError =>
  new ApiError('UNAUTHENTICATED', message, 401);

/** A known caller without the right to do this; 403 when the whole request is refused before it runs. */
export const forbidden = (message: string, httpStatus?: number): ApiError =>
  new ApiError('FORBIDDEN', message, httpStatus);

export const badUserInput = (message: string): ApiError => new ApiError('BAD_USER_INPUT', message);

export const warehouseUnavailable = (cause?: unknown): ApiError =>
  new ApiError('WAREHOUSE_UNAVAILABLE', 'the warehouse is not configured or not reachable', undefined, {
    cause,
  });
