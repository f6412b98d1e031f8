import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { auditServer } from 'graphql-http';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { testConfig } from '../helpers/test-config';

jest.setTimeout(60_000);

const API_KEY = 'conformance-key-0123';

describe('GraphQL over HTTP conformance of /graphql', () => {
  let dataDir: string;
  let stack: LocalStack;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-audit-'));
    stack = await startLocalStack(testConfig(dataDir, API_KEY));
  });

  afterAll(async () => {
    await stack?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('passes every MUST of the graphql-http server audit', async () => {
    const fetchWithKey: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('x-api-key', API_KEY);
      return fetch(input, { ...init, headers });
    };
    const results = await auditServer({ url: stack.graphqlUrl, fetchFn: fetchWithKey });
    const errors = results.flatMap((result) =>
      result.status === 'error' ? [`${result.name}: ${result.reason}`] : [],
    );
    expect(errors).toEqual([]);
    expect(results.filter((r) => r.status === 'ok').length).toBeGreaterThan(20);
  });
});
