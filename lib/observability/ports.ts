/**
 * Powertools-backed implementation of the ingest's metrics port. Metrics with a failure-code
 * dimension are emitted as single metrics so one record's code never leaks onto another record's
 * metric; source is never a dimension (unbounded). Logging needs no adapter: a Powertools `Logger`
 * is a `Logger` (lib/observability/logger.ts) as it is.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { IngestMetrics } from '#lib/ingest/ports.ts';

export function powertoolsIngestMetrics(metrics: Metrics): IngestMetrics {
  return {
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
}
