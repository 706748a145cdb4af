/**
 * The budget's figures as CloudWatch metrics, once per invocation: what the dashboard in
 * serverless.yml (QuotaDashboard) and the alarms read. Dimensions are bounded: the operation and the
 * lane, never a source.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { LANES } from '#lib/lanes.ts';
import { metrics } from '#lib/observability/powertools.ts';
import type { Budget } from './budget.ts';

type BudgetMetricName =
  | 'QuotaCalls'
  | 'QuotaThrottled'
  | 'BudgetRate'
  | 'BudgetCeiling'
  | 'BudgetFallback'
  | 'BudgetWait';

export interface BudgetMetrics {
  put(
    name: BudgetMetricName,
    unit: 'Count' | 'Count/Second' | 'Milliseconds',
    value: number,
    dimensions: Record<string, string>,
  ): void;
}

const UNITS = {
  Count: MetricUnit.Count,
  'Count/Second': MetricUnit.CountPerSecond,
  Milliseconds: MetricUnit.Milliseconds,
} as const;

export const powertoolsBudgetMetrics: BudgetMetrics = {
  put(name, unit, value, dimensions) {
    const single = metrics.singleMetric();
    for (const [key, v] of Object.entries(dimensions)) single.addDimension(key, v);
    single.addMetric(name, UNITS[unit], value);
  },
};

/** Publishes what the budget did since the last call, and its current rate. */
export function publishBudget(budget: Budget, operation: string, out: BudgetMetrics): void {
  const s = budget.snapshot();
  const op = { operation };
  out.put('QuotaCalls', 'Count', s.calls, op);
  out.put('QuotaThrottled', 'Count', s.throttled, op);
  out.put('BudgetRate', 'Count/Second', s.rate, op);
  out.put('BudgetCeiling', 'Count/Second', s.ceiling, op);
  if (s.fallback) out.put('BudgetFallback', 'Count', 1, op);
  for (const lane of LANES) {
    const granted = s.granted[lane] ?? 0;
    if (granted > 0) out.put('BudgetWait', 'Milliseconds', (s.waitMs[lane] ?? 0) / granted, { lane });
  }
}
