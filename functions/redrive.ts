/**
 * The redrive function: replays over-quota messages from the DLQ on schedule, or what ops ask for.
 * Wiring only; the handler is built by lib/redrive/handler.ts.
 *
 * `createHandler({ now })` builds it on a given clock (sandbox/pipeline.ts passes the sandbox's);
 * `handler`, which Lambda runs, is it on the wall clock.
 */
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { redriveConfigFromEnv } from '#lib/config.ts';
import { createRedriveHandler, type RedriveRuntime } from '#lib/redrive/handler.ts';

/** @param clock - The time the function reads, `now` in epoch ms; default: the wall clock. */
export function createHandler(clock: Pick<RedriveRuntime, 'now'> = {}) {
  return createRedriveHandler({
    config: redriveConfigFromEnv(),
    clients: { sqs: sqsClient(), dynamodb: dynamoDbClient() },
    ...clock,
  });
}

export const handler = createHandler();
