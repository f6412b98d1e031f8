import { GraphQLError } from 'graphql';

/** Errors that reach GraphQL clients; `extensions.code` is stable and documented in the README. */
export class ApiError extends GraphQLError {
  constructor(code: string, message: string, httpStatus?: number, options?: { cause?: unknown }) {
    super(message, {
      extensions: httpStatus ? { code, http: { status: httpStatus } } : { code },
      originalError: options?.cause instanceof Error ? options.cause : undefined,
    });
    this.name = 'ApiError';
  }
}

export const unauthenticated = (): ApiError =>
  new ApiError('UNAUTHENTICATED', 'a valid API key is required in the x-api-key header', 401);

export const badUserInput = (message: string): ApiError => new ApiError('BAD_USER_INPUT', message);

export const warehouseUnavailable = (cause?: unknown): ApiError =>
  new ApiError('WAREHOUSE_UNAVAILABLE', 'the warehouse is not configured or not reachable', undefined, {
    cause,
  });
