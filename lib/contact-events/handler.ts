/**
 * Builds the contactEvents Lambda handler. `functions/contact-events.ts` calls this once at module
 * scope; the sandbox and tests call it with their own configuration and clients.
 *
 * - An SQS event (the contact events queue): each record is a contact event, folded into the task's
 *   ledger entry (record.ts), with partial batch failures.
 * - `{action: 'sweep'}` (the schedule, every minute): the outbox and the open tasks due a check
 *   (sweep.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createQuotaBudget } from '#lib/budget/config.ts';
import { releaseWaiters } from '#lib/capacity/release.ts';
import { now as clockNow } from '#lib/clock.ts';
import type { ContactEventsConfig } from '#lib/config.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { withPowertools } from '#lib/observability/middleware.ts';
import { createMetrics, logger as powertoolsLogger } from '#lib/observability/powertools.ts';
import { drainEffects } from '#lib/outcomes/drain.ts';
import { EventBridgeOutcomePublisher } from '#lib/outcomes/publisher.ts';
import { connectDescriber } from './describe.ts';
import { type ContactEventDeps, processContactEvent } from './record.ts';
import { runContactSweep, type SweepSummary } from './sweep.ts';

export type ContactEventsRuntime = {
  config: ContactEventsConfig;
  clients: {
    dynamodb: DynamoDBClient;
    connect: ConnectClient;
    sqs: SQSClient;
    eventbridge: EventBridgeClient;
  };
  now?: () => number;
  /**
   * @default the Powertools logger
   */
  logger?: Logger;
};

const isSqsEvent = (event: unknown): event is SQSEvent =>
  typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records);

/**
 * Builds the contact events Lambda handler. An `SQSEvent` (Connect contact events from the stage's
 * EventBridge rule) is folded into the ledger; a scheduled event runs the sweep, which reconciles
 * open tasks with DescribeContact and publishes the outcomes left in the outbox.
 *
 * @param runtime - the function's configuration and its AWS clients; `now` and `logger` replace the
 *   clock and the Powertools logger in tests and in the sandbox.
 * @returns the middy-wrapped handler for an `SQSEvent` or a scheduled event.
 * @example
 * // functions/contact-events.ts
 * export const handler = createContactEventsHandler({
 *   config: contactEventsConfigFromEnv(),
 *   clients: { dynamodb: dynamoDbClient(), connect: connectClient(), sqs: sqsClient(), eventbridge: eventBridgeClient() },
 * });
 */
export function createContactEventsHandler(runtime: ContactEventsRuntime) {
  const { config, clients } = runtime;
  const now = runtime.now ?? clockNow;
  const log = runtime.logger ?? powertoolsLogger;
  const metrics = createMetrics();
  const ledger = new DynamoLedger({ client: clients.dynamodb, tableName: config.ledgerTable });
  const publisher = new EventBridgeOutcomePublisher(clients.eventbridge, config.outcomeBusName);
  const release = async (instanceId: string, slots: number) => {
    // The ended tasks' slots go back to the count first, then to the oldest waiting events.
    for (let i = 0; i < slots; i += 1) await ledger.freeSlot(instanceId);
    return releaseWaiters(instanceId, slots, {
      waiters: ledger,
      entries: ledger,
      now,
      async send(lane, message) {
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: config.laneQueueUrls[lane], ...message }));
      },
    }).then((out) => {
      metrics.addMetric('WaitersReleased', MetricUnit.Count, out.released.length);
      return out;
    });
  };
  const drain = (key: string, effects: Parameters<typeof drainEffects>[1]) =>
    drainEffects(key, effects, { outbox: ledger, publisher, release, log, now }).then((out) => {
      const published = out.done.filter((e) => e.kind === 'publish').length;
      if (published > 0) metrics.addMetric('OutcomesPublished', MetricUnit.Count, published);
      return out;
    });
  const budget = createQuotaBudget(config.describeBudget, {
    dynamodb: clients.dynamodb,
    operation: 'DescribeContact',
    logger: log,
  });
  const recordDeps: ContactEventDeps = {
    ledger,
    drain,
    log,
    now,
    count: (metric) => metrics.addMetric(metric, MetricUnit.Count, 1),
    async changeVisibility(receiptHandle, seconds) {
      await clients.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: config.contactEventsQueueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
  };

  const sweep = async (context: Context): Promise<SweepSummary> => {
    const summary = await runContactSweep({
      ledger,
      describe: connectDescriber(clients.connect, budget),
      instanceIds: config.instanceIds,
      drain,
      now,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      log,
    });
    metrics.addMetric('TasksReconciled', MetricUnit.Count, summary.checked);
    metrics.addMetric('OutboxLeft', MetricUnit.Count, summary.effectsLeft);
    for (const [instanceId, open] of Object.entries(summary.openTasks)) {
      // One metric per instance, each with its own dimension (the handler's buffer shares dimensions).
      const single = metrics.singleMetric();
      single.addDimension('instanceId', instanceId);
      single.addMetric('OpenTasks', MetricUnit.Count, open);
    }
    log.info('contact events sweep finished', { ...summary, openTasks: JSON.stringify(summary.openTasks) });
    await budget.flush();
    return summary;
  };

  const lambdaHandler = async (
    event: unknown,
    context: Context,
  ): Promise<SQSBatchResponse | SweepSummary> => {
    if (!isSqsEvent(event)) return await sweep(context);
    metrics.addMetric('ContactEventsReceived', MetricUnit.Count, event.Records.length);
    const processor = new BatchProcessor(EventType.SQS);
    return await processPartialResponse(
      event,
      (record: SQSRecord) => processContactEvent(record, recordDeps),
      processor,
      {
        context,
        throwOnFullBatchFailure: false,
      },
    );
  };
  return withPowertools(lambdaHandler, metrics);
}
