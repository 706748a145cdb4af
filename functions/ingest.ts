/**
 * Ingest: SQS lane queues (urgent, normal = the ingest queue, bulk) → per-source rules →
 * StartTaskContact, exactly once. Wiring only; the handler is built by lib/ingest/handler.ts.
 *
 * `createHandler({ now })` builds it on a given clock (sandbox/pipeline.ts passes the sandbox's);
 * `handler`, which Lambda runs, is it on the wall clock.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { eventBridgeClient } from '#lib/aws/eventbridge.ts';
import { sqsClient } from '#lib/aws/sqs.ts';
import { ingestFunctionConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';

/** @param clock - The time the function reads, `now` in epoch ms; default: the wall clock. */
export function createHandler(clock: Pick<IngestRuntime, 'now'> = {}) {
  return createIngestHandler({
    config: ingestFunctionConfigFromEnv(),
    clients: {
      connect: connectClient(),
      sqs: sqsClient(),
      dynamodb: dynamoDbClient(),
      eventbridge: eventBridgeClient(),
    },
    ...clock,
  });
}

export const handler = createHandler();
