/**
 * Builds the transfer Lambda handler: performs due scheduled transfers (the EventBridge schedule
 * sends `{action: 'sweep'}` every minute), or schedules — and, when due, performs — one transfer that
 * an EventBridge event asks for. `functions/transfer.ts` calls this once at module scope.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { createQuotaBudget } from '#lib/budget/config.ts';
import { powertoolsBudgetMetrics, publishBudget } from '#lib/budget/metrics.ts';
import { now as clockNow } from '#lib/clock.ts';
import type { TransferConfig } from '#lib/config.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { withPowertools } from '#lib/observability/middleware.ts';
import { createMetrics, logger } from '#lib/observability/powertools.ts';
import { ConnectTransferGateway } from './gateway.ts';
import { handleTransferInvocation, type TransferInvocationResult } from './invoke.ts';
import { DynamoTransferStore } from './store/dynamo-store.ts';

/**
 * Longer than the function timeout (60 s in serverless.yml): a live invocation never loses a lease,
 * and a crashed one's items are claimable again a little after it died.
 */
const LEASE_MS = 90_000;

export type TransferRuntime = {
  config: TransferConfig;
  clients: { connect: ConnectClient; dynamodb: DynamoDBClient };
  now?: () => number;
};

/**
 * Builds the transfer Lambda handler: a scheduled event runs the sweep of due transfer plans
 * (TransferContact, paced by the shared budget); an event naming one plan runs that plan.
 *
 * @param runtime - the function's configuration and its AWS clients; `now` replaces the clock in tests.
 * @returns the middy-wrapped handler; it resolves to what the invocation did.
 * @example
 * // functions/transfer.ts
 * export const handler = createTransferHandler({
 *   config: transferConfigFromEnv(),
 *   clients: { connect: connectClient(), dynamodb: dynamoDbClient() },
 * });
 */
export function createTransferHandler(runtime: TransferRuntime) {
  const { config, clients } = runtime;
  const metrics = createMetrics();
  const store = new DynamoTransferStore({ client: clients.dynamodb, tableName: config.transfersTable });
  const ledger = new DynamoLedger({ client: clients.dynamodb, tableName: config.ledgerTable });
  const gateway = new ConnectTransferGateway(clients.connect);
  const limiter = createQuotaBudget(config.budget, {
    dynamodb: clients.dynamodb,
    operation: 'TransferContact',
    logger: logger,
  });

  const lambdaHandler = async (event: unknown, context: Context): Promise<TransferInvocationResult> => {
    const result = await handleTransferInvocation(
      {
        store,
        ledger,
        gateway,
        limiter,
        now: runtime.now ?? clockNow,
        owner: context.awsRequestId,
        leaseMs: LEASE_MS,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        metrics,
        logger,
      },
      event,
    );
    // One plain metric every invocation (an idle sweep would otherwise publish nothing, and warn).
    if (result.kind === 'sweep')
      metrics.addMetric('TransfersClaimed', MetricUnit.Count, result.summary.claimed);
    else metrics.addMetric('TransferRequestsAccepted', MetricUnit.Count, 1);
    logger.info('transfer invocation finished', { ...result });
    publishBudget(limiter, 'TransferContact', powertoolsBudgetMetrics);
    await limiter.flush();
    return result;
  };
  return withPowertools(lambdaHandler, metrics);
}
