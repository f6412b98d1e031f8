import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '../config';

/** Emulators accept any signature; fixed credentials keep a laptop from needing an AWS account. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'tributary-local', secretAccessKey: 'tributary-local' };

/** Region, and for an emulator its endpoint and credentials. */
export function clientEndpoint(region: string, endpoint: string | undefined) {
  return endpoint === undefined ? { region } : { region, endpoint, credentials: EMULATOR_CREDENTIALS };
}

/**
 * What the Kinesis and DynamoDB clients send their requests through, when not the SDK's default: a
 * benchmark answers them at the transport (the SDK's HttpHandler interface), so everything above it runs.
 */
export interface ClientTransport {
  kinesis?: KinesisClientConfig['requestHandler'];
  dynamodb?: DynamoDBClientConfig['requestHandler'];
}

/** Builds the Kinesis client; against an endpoint override it speaks HTTP/1.1, since kinesalite has no HTTP/2. */
export function createKinesisClient(
  config: Pick<Config, 'aws'>,
  transport: ClientTransport = {},
): KinesisClient {
  const { region, kinesisEndpoint: endpoint } = config.aws;
  const requestHandler = transport.kinesis ?? (endpoint === undefined ? undefined : new NodeHttpHandler());
  return new KinesisClient({
    ...clientEndpoint(region, endpoint),
    requestHandler,
    // Resolve each command's middleware once per command class, not on every call: it was a share of
    // every PutRecords. Middleware added to the client must be added before its first call.
    cacheMiddleware: true,
    ...(endpoint === undefined ? {} : { httpAuthSchemes: emulatorAuthSchemes(region, 'kinesis') }),
  });
}

/** How the SDK signs a request (the signer of an auth scheme). */
type HttpAuthScheme = NonNullable<DynamoDBClientConfig['httpAuthSchemes']>[number];
type HttpSigner = HttpAuthScheme['signer'];
type IdentityProviders = Parameters<HttpAuthScheme['identityProvider']>[0];

/**
 * Signs a request for an emulator: dynalite and kinesalite check that it carries an AWS4
 * authorization header of the right form, never the signature, and computing one (a hash of the
 * body, an HMAC chain) took about a tenth of the embedded stream processor's time, which makes a
 * DynamoDB call per key it writes (docs/benchmarks.md#sustain), and a share of every ingest
 * request's PutRecords on the API thread.
 */
function emulatorSigner(region: string, service: 'dynamodb' | 'kinesis'): HttpSigner {
  const scope = `${EMULATOR_CREDENTIALS.accessKeyId}/20000101/${region}/${service}/aws4_request`;
  return {
    sign: (request) => {
      request.headers['x-amz-date'] = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
      request.headers.authorization = `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host;x-amz-date, Signature=0`;
      return Promise.resolve(request);
    },
  };
}

/** The SigV4 auth scheme with the emulator's signer: what a client to an emulator signs with. */
function emulatorAuthSchemes(region: string, service: 'dynamodb' | 'kinesis') {
  return [
    {
      schemeId: 'aws.auth#sigv4',
      identityProvider: (providers: IdentityProviders) => providers.getIdentityProvider('aws.auth#sigv4'),
      signer: emulatorSigner(region, service),
    },
  ];
}

/** Builds the DynamoDB document client; undefined attributes are dropped rather than rejected. */
export function createDynamoDbDocumentClient(
  config: Pick<Config, 'aws'>,
  transport: ClientTransport = {},
): DynamoDBDocumentClient {
  const { region, dynamodbEndpoint } = config.aws;
  const client = new DynamoDBClient({
    ...clientEndpoint(region, dynamodbEndpoint),
    requestHandler: transport.dynamodb,
    ...(dynamodbEndpoint === undefined ? {} : { httpAuthSchemes: emulatorAuthSchemes(region, 'dynamodb') }),
  });
  return DynamoDBDocumentClient.from(client, {
    // convertClassInstanceToMap: a map of counts or traits with a key named `constructor` would
    // otherwise look like a class instance to the marshaller and be refused.
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
}
