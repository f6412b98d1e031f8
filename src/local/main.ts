import './node-env';
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config';
import { startLocalStack } from './stack';

/** `npm start`: the whole pipeline on this machine, no AWS account needed. */
async function main(): Promise<void> {
  const config = loadConfig();
  const stack = await startLocalStack(config);
  const curl = [
    `curl -s ${stack.graphqlUrl}`,
    `  -H 'content-type: application/json' -H 'x-api-key: ${stack.writeKey}'`,
    `  -d '{"query":"mutation { trackEvent(event: {event: \\"page_viewed\\", userId: \\"u1\\"}) { messageId status } }"}'`,
  ].join(' \\\n');
  console.log(`
Tributary is running (data in ${config.dataDir})

  GraphQL     ${stack.graphqlUrl}
  Playground  ${stack.playgroundUrl}
  Console     ${stack.url}/console   (live tail and charts)
  Demo shop   ${stack.url}/demo
  Secret key  ${stack.apiKey}   (every scope: servers, scripts, the playground and the console; never ship it)
  Write key   ${stack.writeKey}   (INGEST and PUBLIC_READ: safe in browsers and apps)
  Kinesis     ${stack.kinesisEndpoint}  (stream "${config.streamName}")
  DynamoDB    ${stack.dynamodbEndpoint}  (table "${config.tableName}")

Try it:
${curl}

Ctrl-C flushes and stops.
`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: flushing and stopping…`);
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('stopping failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
  else console.error('Tributary failed to start', error);
  process.exit(1);
});
