/**
 * The transfer function: performs due scheduled transfers, or one transfer an EventBridge event asks
 * for. Wiring only; the handler is built by lib/transfers/handler.ts.
 *
 * `createHandler({ now })` builds it on a given clock (sandbox/pipeline.ts passes the sandbox's);
 * `handler`, which Lambda runs, is it on the wall clock.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { transferConfigFromEnv } from '#lib/config.ts';
import { createTransferHandler, type TransferRuntime } from '#lib/transfers/handler.ts';

/** @param clock - The time the function reads, `now` in epoch ms; default: the wall clock. */
export function createHandler(clock: Pick<TransferRuntime, 'now'> = {}) {
  return createTransferHandler({
    config: transferConfigFromEnv(),
    clients: { connect: connectClient(), dynamodb: dynamoDbClient() },
    ...clock,
  });
}

export const handler = createHandler();
