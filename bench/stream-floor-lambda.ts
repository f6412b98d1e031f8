import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent, KinesisStreamBatchResponse } from 'aws-lambda';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { UAParser } from 'ua-parser-js';

/**
 * The stream function's library floor: what its first request costs in the libraries alone, with
 * none of Tributary's processing. It compiles the JSON Schema of each event name in the batch with
 * ajv (as the schema registry does, checked ahead), parses one user agent with ua-parser-js, and
 * makes one call with each AWS client the function writes through (a conditional-free PutItem
 * through the document client, a PutRecordBatch), then answers. `npm run bench -- lambda` bundles
 * it like a Tributary function, beside its own baseline: how far above that baseline the floor's
 * first request lands is what no stream handler built on these libraries can go below.
 */
const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: process.env.TRIBUTARY_DYNAMODB_ENDPOINT }),
);
const firehose = new FirehoseClient({ endpoint: process.env.TRIBUTARY_FIREHOSE_ENDPOINT });

const SCHEMAS = path.join(__dirname, 'schemas');

function schemaOf(event: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path.join(SCHEMAS, event, '1-0-0.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
}

export const handler = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
  const bodies = event.Records.map(
    (record) =>
      JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as Record<string, unknown>,
  );
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, validateSchema: false });
  addFormats(ajv);
  const names = new Set(bodies.map((body) => String(body.event)));
  for (const name of names) {
    const schema = schemaOf(name);
    if (schema !== undefined) ajv.compile(schema);
  }
  const context = bodies[0]?.context as { userAgent?: string } | undefined;
  new UAParser(context?.userAgent ?? '').getResult();
  await dynamo.send(new PutCommand({ TableName: 'floor', Item: { pk: 'floor', sk: 'floor' } }));
  await firehose.send(
    new PutRecordBatchCommand({
      DeliveryStreamName: 'floor',
      Records: [{ Data: Buffer.from(JSON.stringify(bodies[0] ?? {})) }],
    }),
  );
  return { batchItemFailures: [] };
};
