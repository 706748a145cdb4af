/**
 * The CloudWatch dashboard of serverless.yml (QuotaDashboard): its body is JSON once CloudFormation
 * substitutes it, and it shows what `task-ingest status` shows. Read from serverless.yml with the
 * Serverless variables resolved as the framework resolves them (common/serverless-config.ts), so
 * no packaging run is needed; `npm run package` checks the framework itself accepts the file.
 */
import { describe, expect, it } from 'vitest';
import { LANE_QUEUES, resourceName } from '#cli/context.ts';
import { loadServerlessConfig } from '#common/serverless-config.ts';
import { BUDGET_OPERATIONS } from '#lib/budget/status.ts';
import { LANES } from '#lib/lanes.ts';
import {
  type DashboardMetric,
  dashboardExpressions,
  dashboardMetrics,
  parseDashboardBody,
} from '#test/support/template/dashboard.ts';

const STAGE = 'dev';
const config = loadServerlessConfig({ stage: STAGE });
const resources = config.resources.Resources as Record<
  string,
  { Type: string; Properties?: Record<string, unknown> }
>;
const dashboard = resources.QuotaDashboard;
const namespace = String(config.custom.metricsNamespace);
const service = String(config.provider.environment.POWERTOOLS_SERVICE_NAME);

/** The template's resources: serverless.yml's own, and a `<Name>LambdaFunction` per function. */
const resourceIds = new Set([
  ...Object.keys(resources),
  ...Object.keys(config.functions).map((name) => `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`),
]);

function parsed() {
  return parseDashboardBody(dashboard?.Properties?.DashboardBody, resourceIds);
}

function metrics(): DashboardMetric[] {
  return dashboardMetrics(parsed().body);
}

function customMetrics(name: string): DashboardMetric[] {
  return metrics().filter((m) => m.namespace === namespace && m.metricName === name);
}

describe('QuotaDashboard', () => {
  it('is a CloudWatch dashboard named after the service and stage', () => {
    expect(dashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
    expect(dashboard?.Properties?.DashboardName).toBe(`connect-task-ingest-${STAGE}-quota`);
  });

  it('has a body that is JSON after substitution, with only pseudo parameters and own resources left to CloudFormation', () => {
    // Act
    const { placeholders, body } = parsed();

    // Assess
    expect(Array.isArray(body.widgets)).toBe(true);
    expect(body.widgets.length).toBeGreaterThan(0);
    expect(placeholders).toContain('AWS::Region');
    expect(placeholders.filter((p) => !p.startsWith('AWS::'))).toEqual(
      expect.arrayContaining(['IngestLambdaFunction']),
    );
    // Every Serverless variable was resolved while packaging.
    expect(JSON.stringify(body)).not.toMatch(/\$\{(self|sls|param|opt|env):/);
  });

  it('shows the backlog and the age of the oldest message of every lane queue, and the DLQ', () => {
    // Prepare
    const sqsMetrics = metrics().filter((m) => m.namespace === 'AWS/SQS');
    const queuesOf = (metricName: string) =>
      new Set(sqsMetrics.filter((m) => m.metricName === metricName).map((m) => m.dimensions.QueueName));

    // Assess
    for (const lane of LANES) {
      const queue = resourceName(STAGE, LANE_QUEUES[lane].suffix);
      expect(queuesOf('ApproximateNumberOfMessagesVisible').has(queue), queue).toBe(true);
      expect(queuesOf('ApproximateNumberOfMessagesNotVisible').has(queue), queue).toBe(true);
      expect(queuesOf('ApproximateAgeOfOldestMessage').has(queue), queue).toBe(true);
    }
    expect(queuesOf('ApproximateNumberOfMessagesVisible').has(resourceName(STAGE, 'dlq'))).toBe(true);
  });

  it('names the lane queues as serverless.yml declares them, where it does', () => {
    // Prepare
    const declared = Object.values(resources)
      .filter((r) => r.Type === 'AWS::SQS::Queue')
      .map((r) => String(r.Properties?.QueueName));
    const shown = new Set(metrics().map((m) => m.dimensions.QueueName));

    // Assess: every declared queue is on the dashboard (lane queues not declared yet show no data).
    for (const queue of declared) expect(shown.has(queue), queue).toBe(true);
  });

  it.each(['QuotaCalls', 'QuotaThrottled', 'BudgetRate', 'BudgetCeiling', 'BudgetFallback'])(
    'shows %s for every budgeted operation, with the service and operation dimensions',
    (name) => {
      // Act
      const found = customMetrics(name);

      // Assess
      for (const operation of BUDGET_OPERATIONS) {
        expect(found.some((m) => m.dimensions.operation === operation)).toBe(true);
      }
      for (const m of found) expect(Object.keys(m.dimensions).sort()).toEqual(['operation', 'service']);
      for (const m of found) expect(m.dimensions.service).toBe(service);
    },
  );

  it('shows BudgetWait for every lane, with the service and lane dimensions', () => {
    const found = customMetrics('BudgetWait');
    for (const lane of LANES)
      expect(
        found.some((m) => m.dimensions.lane === lane),
        lane,
      ).toBe(true);
    for (const m of found) expect(m.dimensions).toEqual({ service, lane: m.dimensions.lane });
  });

  it('computes the throttled share with metric math over QuotaThrottled / QuotaCalls', () => {
    // Prepare
    const widget = parsed().body.widgets.find((w) => /throttled share/i.test(String(w.properties.title)));
    const { expressions, ids } = dashboardExpressions(widget ?? { type: '', properties: {} });

    // Assess
    expect(widget).toBeDefined();
    expect(expressions.length).toBeGreaterThanOrEqual(BUDGET_OPERATIONS.length);
    for (const expression of expressions) {
      const referenced = expression.match(/\b[a-z][A-Za-z0-9_]*\b(?=\s*[,)/-])/g) ?? [];
      expect(referenced.length).toBeGreaterThan(0);
      for (const id of referenced) expect(ids.has(id), `${id} in ${expression}`).toBe(true);
      expect(expression).toMatch(/100 \* FILL\(throttled\w+, 0\) \/ FILL\(calls\w+, 0\)/);
    }
  });

  it('shows the ingest function concurrency', () => {
    const concurrency = metrics().find(
      (m) => m.namespace === 'AWS/Lambda' && m.metricName === 'ConcurrentExecutions',
    );
    expect(concurrency?.dimensions.FunctionName).toBe('resolved-IngestLambdaFunction');
  });
});
