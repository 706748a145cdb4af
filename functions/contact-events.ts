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
import { type ContactEventsRuntime, createContactEventsHandler } from '#lib/contact-events/handler.ts';

/**
 * The function's wiring on a clock. Lambda runs `handler`, on the wall clock; the sandbox builds each
 * function instance with its movable clock (sandbox/pipeline.ts).
 *
 * @param runtime - `now`: the time in epoch ms (default: the wall clock).
 */
export function createHandler({ now }: Pick<ContactEventsRuntime, 'now'> = {}) {
  return createContactEventsHandler({
    config: contactEventsConfigFromEnv(),
    clients: {
      dynamodb: dynamoDbClient(),
      connect: connectClient(),
      sqs: sqsClient(),
      eventbridge: eventBridgeClient(),
    },
    now,
  });
}

export const handler = createHandler();
