/**
 * Ingest: SQS lane queues (urgent, normal = the ingest queue, bulk) → per-source rules →
 * StartTaskContact, exactly once. Wiring only; the handler is built by lib/ingest/handler.ts.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { eventBridgeClient } from '#lib/aws/eventbridge.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { ingestFunctionConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler } from '#lib/ingest/handler.ts';

export const handler = createIngestHandler({
  config: ingestFunctionConfigFromEnv(),
  clients: {
    connect: connectClient(),
    sqs: sqsClient(),
    dynamodb: dynamoDbClient(),
    eventbridge: eventBridgeClient(),
  },
});
