/**
 * The contactEvents function: Amazon Connect contact events folded into the ledger, task outcomes
 * published, parked OVER_QUOTA events sent back when tasks end, and the every-minute sweep. Wiring
 * only; the handler is built by lib/contact-events/handler.ts.
 *
 * `createHandler({ now })` builds it on a given clock (sandbox/pipeline.ts passes the sandbox's);
 * `handler`, which Lambda runs, is it on the wall clock.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { eventBridgeClient } from '#lib/aws/eventbridge.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { contactEventsConfigFromEnv } from '#lib/config.ts';
import { type ContactEventsRuntime, createContactEventsHandler } from '#lib/contact-events/handler.ts';

/** @param clock - The time the function reads, `now` in epoch ms; default: the wall clock. */
export function createHandler(clock: Pick<ContactEventsRuntime, 'now'> = {}) {
  return createContactEventsHandler({
    config: contactEventsConfigFromEnv(),
    clients: {
      dynamodb: dynamoDbClient(),
      connect: connectClient(),
      sqs: sqsClient(),
      eventbridge: eventBridgeClient(),
    },
    ...clock,
  });
}

export const handler = createHandler();
