/**
 * The transfer function: performs due scheduled transfers, or one transfer an EventBridge event asks
 * for. Wiring only; the handler is built by lib/transfers/handler.ts.
 */
import { connectClient } from '#lib/aws/connect.ts';
import { dynamoDbClient } from '#lib/aws/dynamodb.ts';
import { transferConfigFromEnv } from '#lib/config.ts';
import { createTransferHandler, type TransferRuntime } from '#lib/transfers/handler.ts';

/**
 * The function's wiring on a clock. Lambda runs `handler`, on the wall clock; the sandbox builds each
 * function instance with its movable clock (sandbox/pipeline.ts).
 *
 * @param runtime - `now`: the time in epoch ms (default: the wall clock).
 */
export function createHandler({ now }: Pick<TransferRuntime, 'now'> = {}) {
  return createTransferHandler({
    config: transferConfigFromEnv(),
    clients: { connect: connectClient(), dynamodb: dynamoDbClient() },
    now,
  });
}

export const handler = createHandler();
