import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { DeletionWorker } from '../services/deletion-runner';

export interface LambdaDeletionWorkerOptions {
  /** The deletion function, by name or ARN. */
  functionName: string;
  /** The steps the deletion function runs, in its order: a new request gets one per store. */
  stores: readonly string[];
  /** Built for `region` when not given. */
  client?: LambdaClient;
  region?: string;
  logger?: Pick<Console, 'error'>;
}

/**
 * Wakes the deletion function that runs requests in AWS: each wake is an asynchronous invocation
 * (InvocationType Event), which Lambda queues while the function's one instance is busy. A wake that
 * cannot be sent is only logged: the request is stored, and the function's schedule runs it.
 */
export class LambdaDeletionWorker implements DeletionWorker {
  readonly stores: readonly string[];
  private readonly client: LambdaClient;
  private readonly logger: Pick<Console, 'error'>;
  private readonly sending = new Set<Promise<void>>();

  constructor(private readonly options: LambdaDeletionWorkerOptions) {
    this.stores = [...options.stores];
    this.client = options.client ?? new LambdaClient({ region: options.region });
    this.logger = options.logger ?? console;
  }

  /** Sends the invocation in the background; returns at once. */
  wake(): void {
    const sent: Promise<void> = this.invoke().finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  /**
   * Resolves once every wake so far was sent or failed. A Lambda handler awaits it before it
   * returns: the environment is frozen after that, and a request still on its way would wait for
   * the next invocation, which may never come.
   */
  async settled(): Promise<void> {
    await Promise.all([...this.sending]);
  }

  private async invoke(): Promise<void> {
    try {
      await this.client.send(
        new InvokeCommand({ FunctionName: this.options.functionName, InvocationType: 'Event' }),
      );
    } catch (error) {
      this.logger.error(
        'could not wake the deletion function; its schedule will run the stored request',
        error,
      );
    }
  }
}
