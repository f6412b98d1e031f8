import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { HttpRequest } from '@smithy/core/protocols';
import {
  createDynamoDbDocumentClient,
  createKinesisClient,
  type ClientTransport,
} from '../../src/aws/clients';

/** A transport that notes each request's headers and answers every call with an empty item. */
function recordingTransport(): { transport: ClientTransport; headers: Array<Record<string, string>> } {
  const headers: Array<Record<string, string>> = [];
  const handler = {
    handle: (request: HttpRequest) => {
      headers.push({ ...request.headers });
      return Promise.resolve({
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Buffer.from('{}'),
        },
      });
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  };
  return {
    transport: {
      dynamodb: handler as unknown as ClientTransport['dynamodb'],
      kinesis: handler as unknown as ClientTransport['kinesis'],
    },
    headers,
  };
}

const get = new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } });

describe('the DynamoDB client', () => {
  it('signs for an emulator with a fixed header of the form it checks, not a computed signature', async () => {
    const { transport, headers } = recordingTransport();
    const client = createDynamoDbDocumentClient(
      { aws: { region: 'eu-west-1', dynamodbEndpoint: 'http://127.0.0.1:4568' } },
      transport,
    );
    await client.send(get);
    await client.send(get);
    client.destroy();
    expect(headers).toHaveLength(2);
    for (const sent of headers) {
      expect(sent.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=tributary-local\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=[^,]+, Signature=0$/,
      );
      expect(sent['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
  });

  it('signs with SigV4 against AWS itself', async () => {
    const { transport, headers } = recordingTransport();
    const client = createDynamoDbDocumentClient({ aws: { region: 'eu-west-1' } }, transport);
    const previous = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    try {
      await client.send(get);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = previous.id;
      process.env.AWS_SECRET_ACCESS_KEY = previous.secret;
      if (previous.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (previous.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      client.destroy();
    }
    expect(headers[0]?.authorization).toMatch(/Credential=AKIDEXAMPLE\/.*Signature=[0-9a-f]{64}$/);
  });
});

describe('the Kinesis client', () => {
  it('signs for an emulator with a fixed header of the form kinesalite checks', async () => {
    const { transport, headers } = recordingTransport();
    const client = createKinesisClient(
      { aws: { region: 'eu-west-1', kinesisEndpoint: 'http://127.0.0.1:4567' } },
      transport,
    );
    await client.send(new ListStreamsCommand({})).catch(() => undefined);
    client.destroy();
    expect(headers).toHaveLength(1);
    expect(headers[0]?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=tributary-local\/\d{8}\/eu-west-1\/kinesis\/aws4_request, SignedHeaders=[^,]+, Signature=0$/,
    );
  });
});
