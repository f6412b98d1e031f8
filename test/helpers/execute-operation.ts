import type { FormattedExecutionResult } from 'graphql';
import { createApiServer } from '../../src/api/apollo-server';
import type { Principal } from '../../src/access/principal';
import type { Services } from '../../src/services/services';

export const ADMIN: Principal = { keyId: 'admin', kind: 'SECRET', scopes: new Set(['ADMIN']) };
export const HOT_READER: Principal = { keyId: 'reader', kind: 'SECRET', scopes: new Set(['HOT_READ']) };

export interface OperationRunner {
  run(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): Promise<FormattedExecutionResult>;
  stop(): Promise<void>;
}

/**
 * The API's schema, auth checks and error formatting over `services`, without HTTP: each operation
 * runs as the given principal (ADMIN unless told). Unexpected errors land in `errors`.
 */
export async function operationRunner(
  services: Partial<Services>,
  errors: unknown[] = [],
): Promise<OperationRunner> {
  const server = createApiServer({
    maxQueryDepth: 10,
    access: { queryBudget: { WRITE: 1000, SECRET: 20000 }, maxAliasesPerRootField: 10 },
    queries: { maxBytes: 64 * 1024, persistedCacheBytes: 1024 * 1024 },
    logger: { error: (...args: unknown[]) => errors.push(args) },
  });
  await server.start();
  return {
    async run(query, variables, principal = ADMIN) {
      const response = await server.executeOperation(
        { query, variables },
        {
          contextValue: {
            services: services as Services,
            principal,
            edge: { receivedAt: new Date() },
          },
        },
      );
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return response.body.singleResult;
    },
    stop: () => server.stop(),
  };
}
