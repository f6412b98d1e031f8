import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';

/** The Secrets Manager stub's value of a secret: one of its own per ARN, so keys differ. */
export function stubSecretValue(secretId: string): string {
  return `bench-${createHash('sha256').update(secretId).digest('hex').slice(0, 40)}`;
}

/**
 * Canned success answers for the AWS calls the Lambda handlers make on their request paths, by the
 * operation a JSON-protocol request names in `x-amz-target` (Kinesis, DynamoDB, Firehose, Secrets
 * Manager): every record accepted, nothing suppressed, nothing found, a fresh rate counter. The
 * clients above the transport (signing, serialising, retries, parsing) run as they do in AWS.
 */
export function cannedAnswer(target: string, body: string): unknown {
  const input = (body === '' ? {} : JSON.parse(body)) as Record<string, unknown>;
  const count = (key: string) => (Array.isArray(input[key]) ? (input[key] as unknown[]).length : 0);
  switch (target.split('.').pop()) {
    case 'PutRecords':
      return {
        FailedRecordCount: 0,
        Records: Array.from({ length: count('Records') }, (_, i) => ({
          SequenceNumber: String(10n ** 20n + BigInt(i)),
          ShardId: 'shardId-000000000000',
        })),
      };
    case 'PutRecordBatch':
      return {
        FailedPutCount: 0,
        Encrypted: false,
        RequestResponses: Array.from({ length: count('Records') }, (_, i) => ({ RecordId: `r${i}` })),
      };
    case 'UpdateItem':
      return { Attributes: { count: { N: '1' } } };
    case 'BatchGetItem': {
      const tables = Object.keys((input.RequestItems ?? {}) as Record<string, unknown>);
      return { Responses: Object.fromEntries(tables.map((table) => [table, []])), UnprocessedKeys: {} };
    }
    case 'BatchWriteItem':
      return { UnprocessedItems: {} };
    case 'GetSecretValue':
      return { Name: String(input.SecretId), SecretString: stubSecretValue(String(input.SecretId)) };
    default:
      // GetItem (nothing found), PutItem, Query (nothing), and whatever else answers with an empty object.
      return {};
  }
}

const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.1' };

type RequestHandler = Exclude<NonNullable<KinesisClientConfig['requestHandler']>, Record<string, unknown>>;

/**
 * The SDK's transport (smithy's HttpHandler) answering in process with `cannedAnswer`: no socket, so
 * what a benchmark measures is the handler and the clients, not the loopback network. `seen` hears
 * each request's target and body.
 */
export function stubRequestHandler(seen?: (target: string, body: string) => void): RequestHandler {
  const decoder = new TextDecoder();
  const handler = {
    handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
      const text =
        typeof request.body === 'string'
          ? request.body
          : request.body instanceof Uint8Array
            ? decoder.decode(request.body)
            : '';
      const target = request.headers['x-amz-target'] ?? '';
      seen?.(target, text);
      const answer = Buffer.from(JSON.stringify(cannedAnswer(target, text)));
      return { response: { statusCode: 200, headers: { ...JSON_HEADERS }, body: answer } };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  return handler as unknown as RequestHandler;
}

/** The same answers over HTTP, for Lambda bundles running in child processes with their endpoints pointed here. */
export async function startStubAwsServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const answer = JSON.stringify(cannedAnswer(target, Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
