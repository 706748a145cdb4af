/**
 * Logger and Tracer, built once with one service name (POWERTOOLS_SERVICE_NAME, default
 * "connect-task-ingest", read through lib/config.ts) and shared by every function; Metrics, one per
 * handler (`createMetrics`).
 *
 * Logs never carry task contents: log source, event id, rule id, ClientToken, ContactId and
 * failure class, never attribute values, names, descriptions or emails.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { observabilityConfigFromEnv } from '#lib/config.ts';

const { serviceName, metricsNamespace } = observabilityConfigFromEnv();

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });

/**
 * A handler's own metrics buffer. Each handler (on Lambda: each function instance) gets one, so
 * handlers that run side by side in one process (the sandbox pipeline, the bench) never publish or
 * empty each other's buffer.
 */
export function createMetrics(): Metrics {
  return new Metrics({ serviceName, namespace: metricsNamespace });
}

/** Shared metrics for single metrics (each published on its own at once, e.g. the budget's). */
export const metrics = createMetrics();
