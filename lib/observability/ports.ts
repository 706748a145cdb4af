/**
 * Powertools-backed implementations of the small logging/metrics ports the use cases depend on.
 * Metrics with a failure-code dimension are emitted as single metrics so one record's code never
 * leaks onto another record's metric; source is never a dimension (unbounded).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { IngestLog, IngestMetrics } from '#lib/ingest/ports.ts';
import { logger, metrics } from './powertools.ts';

export const powertoolsMetrics: IngestMetrics = {
  count(name, dimensions, value = 1) {
    if (dimensions?.code) {
      const single = metrics.singleMetric();
      single.addDimension('code', dimensions.code);
      single.addMetric(name, MetricUnit.Count, value);
      return;
    }
    metrics.addMetric(name, MetricUnit.Count, value);
  },
};

export const powertoolsLog: IngestLog = {
  info: (message, fields) => logger.info(message, { ...fields }),
  warn: (message, fields) => logger.warn(message, { ...fields }),
  error: (message, fields, error) =>
    logger.error(message, { ...fields, ...(error instanceof Error ? { error } : {}) }),
};
