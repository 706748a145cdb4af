/**
 * Builds the redrive Lambda handler: replays due over-quota and transient messages from the DLQ (EventBridge
 * schedule, `{action: 'redrive'}`), or replays what ops ask for (`{filter, max?, dryRun?}`), each to
 * the queue of the lane it failed in. `functions/redrive.ts` calls this once at module scope.
 * Redrive calls SQS and reads the ledger: nothing here imports the Connect client.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { now as clockNow } from '#lib/clock.ts';
import type { RedriveConfig } from '#lib/config.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { withPowertools } from '#lib/observability/middleware.ts';
import { createMetrics, logger as powertoolsLogger } from '#lib/observability/powertools.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { handleRedriveInvocation } from './invocation.ts';
import type { RedriveSummary } from './redrive.ts';
import { outboxRejections } from './rejections.ts';
import { ledgerSettledCheck } from './settled.ts';
import { createSqsPort } from './sqs-port.ts';

export type RedriveRuntime = {
  config: RedriveConfig;
  /** `dynamodb`: the ledger, to delete OVER_QUOTA copies whose event no longer waits (settled.ts). */
  clients: { sqs: SQSClient; dynamodb?: DynamoDBClient };
  now?: () => number;
  /**
   * @default the Powertools logger
   */
  logger?: Logger;
};

/**
 * What the redrive does with the ledger: delete OVER_QUOTA copies whose event no longer waits
 * (settled.ts), and record the task.rejected outcome of what it gives up on (rejections.ts, with the
 * rules table).
 */
function ledgerDeps(runtime: RedriveRuntime) {
  const { dynamodb } = runtime.clients;
  const { ledgerTable, rulesTable } = runtime.config;
  if (dynamodb === undefined || ledgerTable === undefined) return {};
  const ledger = new DynamoLedger({ client: dynamodb, tableName: ledgerTable });
  const rules =
    rulesTable === undefined ? undefined : new DynamoRuleStore({ client: dynamodb, tableName: rulesTable });
  return {
    settled: ledgerSettledCheck(ledger),
    ...(rules === undefined
      ? {}
      : {
          rejections: outboxRejections({
            rulesOf: (source) => rules.list(source),
            outbox: ledger,
            now: runtime.now ?? clockNow,
          }),
        }),
  };
}

/**
 * Builds the redrive Lambda handler: a scheduled event replays the DLQ messages that are due (and
 * gives up, EXHAUSTED, on those out of rounds); an ops event (`{ "mode": "ops-replay", ... }`)
 * replays what its filter selects.
 *
 * @param runtime - the function's configuration and its AWS clients; `now` replaces the clock in tests.
 * @returns the middy-wrapped handler; it resolves to the run's summary.
 * @example
 * // functions/redrive.ts
 * export const handler = createRedriveHandler({
 *   config: redriveConfigFromEnv(),
 *   clients: { sqs: sqsClient(), dynamodb: dynamoDbClient() },
 * });
 */
export function createRedriveHandler(runtime: RedriveRuntime) {
  const { config } = runtime;
  const metrics = createMetrics();
  const deps = {
    sqs: createSqsPort(runtime.clients.sqs),
    dlqUrl: config.dlqUrl,
    ingestQueueUrl: config.ingestQueueUrl,
    laneQueueUrls: config.laneQueueUrls,
    limits: config.limits,
    overQuotaBackoff: config.overQuotaBackoff,
    transientBackoff: config.transientBackoff,
    now: runtime.now ?? clockNow,
    ...ledgerDeps(runtime),
  };
  const observe = {
    count: (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value),
    logger: runtime.logger ?? powertoolsLogger,
  };
  const lambdaHandler = (event: unknown, context: Context): Promise<RedriveSummary> =>
    handleRedriveInvocation(deps, event, {
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      observe,
    });
  return withPowertools(lambdaHandler, metrics);
}
