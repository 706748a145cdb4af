/**
 * Ingest: SQS lane queues (urgent, normal = the ingest queue, bulk) → per-source rules →
 * StartTaskContact, exactly once. Wiring only; the handler is built by lib/ingest/handler.ts.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { eventBridgeClient } from '#lib/aws/eventbridge.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { ingestFunctionConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';

/**
 * The function's wiring on a clock. Lambda runs `handler`, on the wall clock; the sandbox builds each
 * function instance with its movable clock (sandbox/pipeline.ts).
 *
 * @param runtime - `now`: the time in epoch ms (default: the wall clock).
 * @example
 *   const onSandboxTime = createHandler({ now: sandbox.clock.now });
 */
export function createHandler({ now }: Pick<IngestRuntime, 'now'> = {}) {
  return createIngestHandler({
    config: ingestFunctionConfigFromEnv(),
    clients: {
      connect: connectClient(),
      sqs: sqsClient(),
      dynamodb: dynamoDbClient(),
      eventbridge: eventBridgeClient(),
    },
    now,
  });
}

export const handler = createHandler();
