/**
 * The one Powertools middleware chain every function uses: Tracer → Logger → Metrics (cold start
 * captured, stored metrics published after each invocation, also after a failed one).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, tracer } from './powertools.ts';

/**
 * Wraps a handler. `metrics` is the handler's own (createMetrics): the handler adds at least one
 * metric per invocation, so Powertools never has an empty buffer to warn about.
 */
export function withPowertools<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
  metrics: Metrics,
) {
  return middy<TEvent, TResult, Error, Context>()
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .handler(handler);
}
