import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { LiveTransportError } from './errors';

/** Sends to WebSocket clients by connection id. */
export interface LiveConnections {
  /** Sends one message; 'gone' when the client has disconnected (its items should be removed). */
  send(connectionId: string, message: string): Promise<'sent' | 'gone'>;
  /** Closes a connection; API Gateway then calls `$disconnect`. A gone connection is no error. */
  close(connectionId: string): Promise<void>;
}

/**
 * API Gateway's Management API for one WebSocket stage (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`).
 * It has no close code or reason: DeleteConnection closes with API Gateway's own.
 */
export class ApiGatewayConnections implements LiveConnections {
  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  /** A client for a stage's management endpoint, built once per endpoint and process. */
  static forEndpoint(endpoint: string, region: string): ApiGatewayConnections {
    return new ApiGatewayConnections(new ApiGatewayManagementApiClient({ endpoint, region }));
  }

  async send(connectionId: string, message: string): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(message, 'utf8') }),
      );
      return 'sent';
    } catch (error) {
      if (error instanceof GoneException) return 'gone';
      throw new LiveTransportError(`Could not send to connection ${connectionId}`, { cause: error });
    }
  }

  async close(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (error instanceof GoneException) return;
      throw new LiveTransportError(`Could not close connection ${connectionId}`, { cause: error });
    }
  }
}
