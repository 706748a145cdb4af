/**
 * Builds the ingest Lambda handler: the Powertools middleware chain (withPowertools), Powertools
 * BatchProcessor with partial batch failures, bounded record concurrency, and the adapters over
 * DynamoDB, SQS and Connect. `functions/ingest.ts` calls this once at module scope; the sandbox and
 * tests call it with their own configuration and clients.
 */

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CONNECT_TIMEOUTS } from '#lib/aws/connect.ts';
import type { Budget } from '#lib/budget/budget.ts';
import { createQuotaBudget } from '#lib/budget/config.ts';
import { type BudgetMetrics, powertoolsBudgetMetrics, publishBudget } from '#lib/budget/metrics.ts';
import { createCapacityGate } from '#lib/capacity/gate.ts';
import type { IngestConfig } from '#lib/config.ts';
import { createTemplateProvider } from '#lib/connect/templates.ts';
import { LANES, type Lane, type LaneQueueUrls } from '#lib/lanes.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { withPowertools } from '#lib/observability/middleware.ts';
import { powertoolsIngestMetrics } from '#lib/observability/ports.ts';
import { createMetrics, logger } from '#lib/observability/powertools.ts';
import { drainEffects } from '#lib/outcomes/drain.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import { EventBridgeOutcomePublisher } from '#lib/outcomes/publisher.ts';
import { lambdaDeadline } from '#lib/retry/deadline.ts';
import { createRuleProvider } from '#lib/rules/provider.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { createAfterCreate, createTransferRequester } from './after-create.ts';
import { createLimit } from './concurrency.ts';
import { connectContactActions, createLifecycleApplier } from './lifecycle.ts';
import type { IngestOutcomes } from './outcomes.ts';
import type { IngestMetrics } from './ports.ts';
import { type IngestDeps, processRecord, type RecordOutcome } from './process-record.ts';
import { createTaskStarter } from './start-task.ts';

/**
 * The part of the invocation a record keeps back after its last wait (a budget slot, a lease), so
 * the invocation never runs into its timeout (lib/retry/deadline.ts): one Connect attempt at the most
 * (the client's connection plus request timeout, lib/aws/connect.ts: 7 s), then the idempotency
 * record, the ledger and transfer-plan writes or the failure's one SQS send, and the batch response
 * to the event source (INGEST_TAIL_MS).
 */
const INGEST_TAIL_MS = 3_000;
export const INGEST_DEADLINE_MARGIN_MS =
  CONNECT_TIMEOUTS.connectionMs + CONNECT_TIMEOUTS.requestMs + INGEST_TAIL_MS;

export interface IngestRuntime {
  /**
   * `ingestQueueUrl` is the normal lane's queue; `laneQueueUrls` (functions/ingest.ts reads them all)
   * lets a rule's lane move events between the lane queues. Without it every record stays in the lane
   * it arrived in.
   */
  config: IngestConfig & { ingestQueueUrl: string; laneQueueUrls?: Partial<LaneQueueUrls> };
  /** `eventbridge` publishes outcomes at once; without it they wait in the outbox for the sweep. */
  clients: {
    connect: ConnectClient;
    sqs: SQSClient;
    dynamodb: DynamoDBClient;
    eventbridge?: EventBridgeClient;
  };
  /**
   * The time in epoch ms, handed to everything the handler builds (rules and templates caches, the
   * ledger's and plans' times, due times). The sandbox passes its movable clock.
   * @default Date.now
   */
  now?: () => number;
  /**
   * @default the Powertools logger
   */
  log?: Logger;
  /**
   * @default the handler's own Powertools metrics
   */
  metrics?: IngestMetrics;
  /**
   * Where the budget's figures go after each invocation.
   * @default Powertools metrics
   */
  budgetMetrics?: BudgetMetrics;
  /** Sees every record's outcome (the sandbox's live summary). */
  onOutcome?: (record: SQSRecord, outcome: RecordOutcome | { status: 'retry'; error: unknown }) => void;
}

function createIngestDeps(runtime: IngestRuntime & { metrics: IngestMetrics }): IngestDeps & {
  registerLambdaContext(context: Context): void;
  budget: Budget;
} {
  const { config, clients } = runtime;
  const now = runtime.now ?? Date.now;
  const log = runtime.log ?? logger;
  // One StartTaskContact budget for every instance of the function (lib/budget/budget.ts).
  const limiter = createQuotaBudget(config.budget, {
    dynamodb: clients.dynamodb,
    operation: 'StartTaskContact',
    logger: log,
  });
  const ledger = new DynamoLedger({ client: clients.dynamodb, tableName: config.ledgerTable });
  const starter = createTaskStarter({
    connect: clients.connect,
    dynamodb: clients.dynamodb,
    idempotencyTable: config.idempotencyTable,
    expirySeconds: config.idempotencyExpirySeconds,
    limiter,
    chainTasks: (instanceId, previousContactId) => ledger.chainTasks(instanceId, previousContactId),
    chainLimit: config.limits.previousContactChainMax,
    log,
    now,
  });
  const rules = createRuleProvider({
    store: new DynamoRuleStore({ client: clients.dynamodb, tableName: config.rulesTable, now }),
    maxAgeMs: config.rulesCacheSeconds * 1000,
    now,
    onInvalidRule: (report) =>
      log.warn('stored rule no longer validates; skipped', {
        source: report.source,
        ruleId: report.ruleId,
        reason: report.errors.join('; '),
      }),
  });
  const templates = createTemplateProvider({
    connect: clients.connect,
    maxAgeMs: config.templatesCacheSeconds * 1000,
    now,
  });
  const transfers = new DynamoTransferStore({ client: clients.dynamodb, tableName: config.transfersTable });
  const publisher =
    config.outcomeBusName !== undefined && clients.eventbridge !== undefined
      ? new EventBridgeOutcomePublisher(clients.eventbridge, config.outcomeBusName)
      : undefined;
  const drain = (key: string, effects: readonly Effect[]) =>
    drainEffects(key, effects, { outbox: ledger, ...(publisher ? { publisher } : {}), log, now });
  const outcomes: IngestOutcomes = { outbox: ledger, waiters: ledger, drain };
  /** The queue a record of `lane` came from (normal: the ingest queue). */
  const ownQueueUrl = (lane: Lane) =>
    (lane === 'normal' ? config.ingestQueueUrl : config.laneQueueUrls?.[lane]) ?? config.ingestQueueUrl;
  return {
    rules,
    templates,
    startTask: starter.startTask,
    registerLambdaContext: starter.registerLambdaContext,
    budget: limiter,
    queue: {
      async changeVisibility(receiptHandle, seconds, lane: Lane = 'normal') {
        await clients.sqs.send(
          new ChangeMessageVisibilityCommand({
            // The record's own queue: a receipt handle is only valid on the queue that gave it out.
            QueueUrl: ownQueueUrl(lane),
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      },
      async sendBack(lane, message, delaySeconds) {
        await clients.sqs.send(
          new SendMessageCommand({ QueueUrl: ownQueueUrl(lane), ...message, DelaySeconds: delaySeconds }),
        );
      },
      async sendToDlq(message) {
        const sent = await clients.sqs.send(new SendMessageCommand({ QueueUrl: config.dlqUrl, ...message }));
        return sent.MessageId === undefined ? {} : { messageId: sent.MessageId };
      },
      // The lanes a rule can move events to: every lane with a queue (normal: the ingest queue).
      lanes: config.laneQueueUrls
        ? LANES.filter((lane) => lane === 'normal' || config.laneQueueUrls?.[lane])
        : [],
      async forward(lane, message) {
        const queueUrl = lane === 'normal' ? config.ingestQueueUrl : config.laneQueueUrls?.[lane];
        // `lanes` lists only lanes with a URL; a rule naming another one is a wiring slip worth a loud failure.
        if (!queueUrl) throw new TypeError(`no queue URL configured for lane ${lane}`);
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
      },
    },
    afterCreate: createAfterCreate({ ledger, transfers, now, outcomes }),
    requestTransfer: createTransferRequester({ ledger, transfers, now }),
    lifecycle: createLifecycleApplier({
      ledger,
      contacts: connectContactActions(clients.connect),
      limits: config.limits,
      now,
      transfers,
      outcomes: { progress: ledger, drain },
      ...(config.maxReceiveCount === undefined ? {} : { maxReceiveCount: config.maxReceiveCount }),
    }),
    outcomes,
    ...(config.activeTaskQuota === undefined
      ? {}
      : {
          capacity: createCapacityGate({ slots: ledger, quota: config.activeTaskQuota }),
        }),
    metrics: runtime.metrics,
    log,
    limits: config.limits,
    ...(config.allowedInstanceIds === undefined ? {} : { allowedInstanceIds: config.allowedInstanceIds }),
    transientBackoff: config.transientBackoff,
    overQuotaBackoff: config.overQuotaBackoff,
    ...(config.transientRedriveBackoff ? { transientRedriveBackoff: config.transientRedriveBackoff } : {}),
    maxReceiveCount: config.maxReceiveCount,
    now,
  };
}

/**
 * Builds the ingest Lambda handler: SQS lane records → rules → StartTaskContact, exactly once, with a
 * partial batch response so only the records that failed come back.
 *
 * @param runtime - the function's configuration (from the environment in Lambda) and its AWS clients;
 *   the optional parts replace the clock, the logger and the metrics in tests and in the sandbox.
 * @returns the middy-wrapped handler for an `SQSEvent`.
 * @example
 * // functions/ingest.ts, in createHandler(clock): the sandbox's clock, or none (the wall clock) on Lambda
 * return createIngestHandler({
 *   config: ingestFunctionConfigFromEnv(),
 *   clients: { connect: connectClient(), sqs: sqsClient(), dynamodb: dynamoDbClient(), eventbridge: eventBridgeClient() },
 *   ...clock,
 * });
 */
export function createIngestHandler(runtime: IngestRuntime) {
  const metrics = createMetrics();
  const ingestMetrics = runtime.metrics ?? powertoolsIngestMetrics(metrics);
  const deps = createIngestDeps({ ...runtime, metrics: ingestMetrics });
  const limit = createLimit(runtime.config.recordConcurrency);

  /** The records of one invocation, each within its deadline (a record waiting for `limit` included). */
  const recordHandlerFor = (context: Context) => {
    const deadline = lambdaDeadline(context, INGEST_DEADLINE_MARGIN_MS);
    return (record: SQSRecord) =>
      limit(async () => {
        try {
          const outcome = await processRecord(record, deps, deadline);
          runtime.onOutcome?.(record, outcome);
          return outcome.status;
        } catch (error) {
          runtime.onOutcome?.(record, { status: 'retry', error });
          throw error;
        }
      });
  };

  const lambdaHandler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    deps.registerLambdaContext(context);
    const recordHandler = recordHandlerFor(context);
    // Always one plain metric per invocation: the batch size (per-code failure metrics are single
    // metrics, so an all-failure batch would otherwise publish nothing and Powertools warns).
    ingestMetrics.count('RecordsReceived', {}, event.Records.length);
    // A processor per invocation: it holds the batch's results, which must never mix with another's.
    const processor = new BatchProcessor(EventType.SQS);
    try {
      return await processPartialResponse(event, recordHandler, processor, {
        context,
        // One failed record is reported as one item failure, even when it is the whole batch.
        throwOnFullBatchFailure: false,
      });
    } finally {
      publishBudget(deps.budget, 'StartTaskContact', runtime.budgetMetrics ?? powertoolsBudgetMetrics);
      await deps.budget.flush();
    }
  };

  return withPowertools(lambdaHandler, metrics);
}
