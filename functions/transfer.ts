/**
 * The transfer function: performs due scheduled transfers (the EventBridge schedule sends
 * `{action: 'sweep'}` every minute), or schedules — and, when due, performs — one transfer that an
 * EventBridge event asks for. Wiring only; the logic is in lib/transfers/.
 */
import { getStringFromEnv } from '@aws-lambda-powertools/commons/utils/env';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { awsClients } from '#lib/aws/clients.ts';
import { budgetConfigFromEnv, createQuotaBudget } from '#lib/budget/config.ts';
import { powertoolsBudgetMetrics, publishBudget } from '#lib/budget/metrics.ts';
import { now } from '#lib/clock.ts';
import { logger, metrics, tracer } from '#lib/observability/powertools.ts';
import { ConnectTransferGateway } from '#lib/transfers/gateway.ts';
import { handleTransferInvocation, type TransferInvocationResult } from '#lib/transfers/invoke.ts';
import { DynamoLedgerStore } from '#lib/transfers/ledger.ts';
import { DynamoTransferStore } from '#lib/transfers/store.ts';

const transfersTable = getStringFromEnv({
  key: 'TRANSFERS_TABLE',
  errorMessage: 'TRANSFERS_TABLE must be set',
});
const ledgerTable = getStringFromEnv({ key: 'LEDGER_TABLE', errorMessage: 'LEDGER_TABLE must be set' });
/** The TransferContact budget: TRANSFER_RATE requests/s at most, shared with every other instance. */
const budgetConfig = budgetConfigFromEnv('TRANSFER_RATE', []);

/**
 * Longer than the function timeout (60 s in serverless.yml): a live invocation never loses a lease,
 * and a crashed one's items are claimable again a little after it died.
 */
const LEASE_MS = 90_000;

const { connect, dynamodb } = awsClients();
const store = new DynamoTransferStore({ client: dynamodb, tableName: transfersTable });
const ledger = new DynamoLedgerStore({ client: dynamodb, tableName: ledgerTable });
const gateway = new ConnectTransferGateway(connect);
const limiter = createQuotaBudget(budgetConfig, {
  dynamodb,
  operation: 'TransferContact',
  onFallback: (error) =>
    logger.warn('quota budget store unavailable; pacing at the local fallback rate', {
      code: error instanceof Error ? error.name : 'Error',
    }),
});

const lambdaHandler = async (event: unknown, context: Context): Promise<TransferInvocationResult> => {
  const result = await handleTransferInvocation(
    {
      store,
      ledger,
      gateway,
      limiter,
      now,
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

export const handler = middy<unknown, TransferInvocationResult, Error, Context>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(lambdaHandler);
