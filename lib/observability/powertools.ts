/**
 * Logger, Metrics and Tracer, built once with one service name (POWERTOOLS_SERVICE_NAME,
 * default "connect-task-ingest") and shared by every function.
 *
 * Logs never carry task contents: log source, event id, rule id, ClientToken, ContactId and
 * failure class, never attribute values, names, descriptions or emails.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'connect-task-ingest';
export const METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ConnectTaskIngest';

export const logger = new Logger({ serviceName: SERVICE_NAME });
export const metrics = new Metrics({ serviceName: SERVICE_NAME, namespace: METRICS_NAMESPACE });
export const tracer = new Tracer({ serviceName: SERVICE_NAME });
