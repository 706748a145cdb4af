/**
 * The transfer function: performs due scheduled transfers, or one transfer an EventBridge event asks
 * for. Wiring only; the handler is built by lib/transfers/handler.ts.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { transferConfigFromEnv } from '#lib/config.ts';
import { createTransferHandler } from '#lib/transfers/handler.ts';

export const handler = createTransferHandler({
  config: transferConfigFromEnv(),
  clients: { connect: connectClient(), dynamodb: dynamoDbClient() },
});
