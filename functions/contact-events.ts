/**
 * The contactEvents function: Amazon Connect contact events folded into the ledger, task outcomes
 * published, parked OVER_QUOTA events sent back when tasks end, and the every-minute sweep. Wiring
 * only; the handler is built by lib/contact-events/handler.ts.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { eventBridgeClient } from '#lib/aws/eventbridge.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { contactEventsConfigFromEnv } from '#lib/config.ts';
import { createContactEventsHandler } from '#lib/contact-events/handler.ts';

export const handler = createContactEventsHandler({
  config: contactEventsConfigFromEnv(),
  clients: {
    dynamodb: dynamoDbClient(),
    connect: connectClient(),
    sqs: sqsClient(),
    eventbridge: eventBridgeClient(),
  },
});
