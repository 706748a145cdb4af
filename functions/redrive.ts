/**
 * The redrive function: replays due over-quota messages from the DLQ (EventBridge schedule,
 * `{action: 'redrive'}`), or replays what ops ask for (`{filter, max?, dryRun?}`), each to the queue
 * of the lane it failed in.
 * Wiring only; the logic is in lib/redrive/.
 */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { awsClients } from '#lib/aws/clients.ts';
import { now } from '#lib/clock.ts';
import { logger, metrics, tracer } from '#lib/observability/powertools.ts';
import { redriveConfigFromEnv } from '#lib/redrive/config.ts';
import { handleRedriveInvocation, type RedriveObservability } from '#lib/redrive/invocation.ts';
import type { RedriveSummary } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';

const config = redriveConfigFromEnv();
const sqs = createSqsPort(awsClients().sqs);

const observe: RedriveObservability = {
  count: (name, value) => metrics.addMetric(name, MetricUnit.Count, value),
  info: (message, fields) => logger.info(message, fields),
  warn: (message, fields) => logger.warn(message, fields),
};

const lambdaHandler = (event: unknown, context: Context): Promise<RedriveSummary> =>
  handleRedriveInvocation(
    {
      sqs,
      dlqUrl: config.dlqUrl,
      ingestQueueUrl: config.ingestQueueUrl,
      laneQueueUrls: config.laneQueueUrls,
      limits: config.limits,
      overQuotaBackoff: config.overQuotaBackoff,
      now,
    },
    event,
    { remainingTimeMs: () => context.getRemainingTimeInMillis(), observe },
  );

export const handler = middy<unknown, RedriveSummary, Error, Context>()
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }))
  .handler(lambdaHandler);
