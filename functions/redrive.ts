/**
 * The redrive function: replays over-quota messages from the DLQ on schedule, or what ops ask for.
 * Wiring only; the handler is built by lib/redrive/handler.ts.
 */
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { redriveConfigFromEnv } from '#lib/config.ts';
import { createRedriveHandler } from '#lib/redrive/handler.ts';

export const handler = createRedriveHandler({
  config: redriveConfigFromEnv(),
  clients: { sqs: sqsClient(), dynamodb: dynamoDbClient() },
});
