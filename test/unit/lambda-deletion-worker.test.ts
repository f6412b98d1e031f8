import { InvokeCommand, LambdaClient, LambdaServiceException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { LambdaDeletionWorker } from '../../src/handlers/lambda-deletion-worker';

const FUNCTION = 'Tributary-dev-DeletionHandler-AbC123';

describe('LambdaDeletionWorker', () => {
  const lambda = mockClient(LambdaClient);
  afterEach(() => lambda.reset());
  afterAll(() => lambda.restore());

  const worker = (logger: Pick<Console, 'error'> = { error: jest.fn() }) =>
    new LambdaDeletionWorker({
      functionName: FUNCTION,
      stores: ['hot-tier', 'lake-events'],
      client: new LambdaClient({ region: 'eu-west-1' }),
      logger,
    });

  it('wakes the deletion function with an asynchronous invocation (InvocationType Event)', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const subject = worker();
    subject.wake();
    await subject.settled();
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({ FunctionName: FUNCTION, InvocationType: 'Event' });
    expect(subject.stores).toEqual(['hot-tier', 'lake-events']);
  });

  it('returns from wake at once, and settled waits for every invocation still on its way', async () => {
    let release: () => void = () => undefined;
    lambda.on(InvokeCommand).callsFake(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ StatusCode: 202 });
        }),
    );
    const subject = worker();
    subject.wake();
    let settled = false;
    const waiting = subject.settled().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
    expect(settled).toBe(false);
    release();
    await waiting;
    expect(settled).toBe(true);
  });

  it('logs an invocation Lambda refused instead of failing deleteUser: the schedule runs the request', async () => {
    lambda.on(InvokeCommand).rejects(
      new LambdaServiceException({
        name: 'TooManyRequestsException',
        $fault: 'client',
        $metadata: { httpStatusCode: 429 },
        message: 'Rate exceeded',
      }),
    );
    const logger = { error: jest.fn() };
    const subject = worker(logger);
    subject.wake();
    await expect(subject.settled()).resolves.toBeUndefined();
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringMatching(/could not wake the deletion function/),
      expect.objectContaining({ name: 'TooManyRequestsException' }),
    );
  });
});
