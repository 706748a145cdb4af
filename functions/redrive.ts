/**
 * The redrive function: replays over-quota messages from the DLQ on schedule, or what ops ask for.
 * Wiring only; the handler is built by lib/redrive/handler.ts.
 */
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { redriveConfigFromEnv } from '#lib/config.ts';
import { createRedriveHandler, type RedriveRuntime } from '#lib/redrive/handler.ts';

/**
 * The function's wiring on a clock. Lambda runs `handler`, on the wall clock; the sandbox builds each
 * function instance with its movable clock (sandbox/pipeline.ts).
 *
 * @param runtime - `now`: the time in epoch ms (default: the wall clock).
 */
export function createHandler({ now }: Pick<RedriveRuntime, 'now'> = {}) {
  return createRedriveHandler({
    config: redriveConfigFromEnv(),
    clients: { sqs: sqsClient(), dynamodb: dynamoDbClient() },
    now,
  });
}

export const handler = createHandler();
