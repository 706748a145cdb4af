/**
 * `task-ingest status` against the sandbox, with the real SDK clients: lane backlog, DLQ by class,
 * the budget items the budget writes (lib/budget/), and the drain estimate.
 */
import {
  CreateTableCommand,
  PutItemCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import type { StatusReport } from '#cli/commands/status/collect.ts';
import { epochMinute, statsItemId } from '#lib/budget/status.ts';
import { buildDlqMessage } from '#lib/retry/dlq-message.ts';
import type { Sandbox } from '#sandbox/index.ts';
import { overQuotaFailure } from '#test/support/failures.ts';
import { useSandbox } from '#test/support/sandbox-fixture.ts';

const BUDGET_TABLE = 'connect-task-ingest-local-budget';

describe('task-ingest status against the sandbox (loopback, real SDK clients)', () => {
  let sandbox: Sandbox;
  let writtenAt: number;

  /** The sandbox creates BudgetTable from serverless.yml; until it is declared there, the test does. */
  async function ensureBudgetTable(): Promise<void> {
    if (Object.values(sandbox.resources.tables).some((t) => t.name === BUDGET_TABLE)) return;
    try {
      await sandbox.clients.dynamodb.send(
        new CreateTableCommand({
          TableName: BUDGET_TABLE,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    await sandbox.clients.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: BUDGET_TABLE,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
  }

  const put = (item: Record<string, unknown>) =>
    sandbox.clients.dynamodb.send(new PutItemCommand({ TableName: BUDGET_TABLE, Item: marshall(item) }));

  const { cli } = useSandbox(async (started) => {
    sandbox = started;
    await ensureBudgetTable();

    writtenAt = sandbox.clock.now();
    const minute = epochMinute(writtenAt);
    const expiresAt = Math.floor(writtenAt / 1000) + 86_400;
    await put({
      id: 'StartTaskContact',
      tat: writtenAt,
      ceiling: 2,
      wmax: 0.5,
      throttleAt: writtenAt - 1_000,
      floorAt_urgent: writtenAt - 500,
      fallbackAt: writtenAt - 2_000,
    });
    await put({
      id: statsItemId('StartTaskContact', minute),
      calls: 40,
      throttled: 4,
      granted_urgent: 6,
      waitMs_urgent: 600,
      granted_normal: 30,
      waitMs_normal: 9_000,
      expiresAt,
    });

    const ingestUrl = sandbox.environment.INGEST_QUEUE_URL as string;
    for (const n of [1, 2, 3]) {
      await sandbox.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: ingestUrl,
          MessageBody: JSON.stringify({ n }),
          MessageAttributes: { source: { DataType: 'String', StringValue: 'com.example.orders' } },
        }),
      );
    }
    const parked = buildDlqMessage({
      body: '{"n":4}',
      attributes: {},
      messageId: 'first-delivery',
      failure: overQuotaFailure(),
      now: writtenAt,
    });
    await sandbox.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: sandbox.environment.DLQ_URL as string, ...parked }),
    );
  });

  it('reports the lane backlog, the DLQ by class, the budget and the drain estimate as JSON', async () => {
    // Act
    // Three minutes: the items were written in the current minute, which stays in the window even
    // if the clock crosses into the next minute before the command runs.
    const result = await cli(['status', '--json', '--minutes', '3']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
    const report = JSON.parse(result.out) as StatusReport;
    expect(report.stage).toBe('local');

    const normal = report.lanes.find((l) => l.lane === 'normal');
    expect(normal).toMatchObject({ missing: false, visible: 3, inFlight: 0, delayed: 0, total: 3 });
    for (const [lane, logicalId] of [
      ['urgent', 'IngestUrgentQueue'],
      ['bulk', 'IngestBulkQueue'],
    ] as const) {
      const entry = report.lanes.find((l) => l.lane === lane);
      // Missing until serverless.yml declares the lane queue; then an empty, existing queue.
      if (sandbox.resources.queues[logicalId]) expect(entry).toMatchObject({ missing: false, total: 0 });
      else expect(entry).toMatchObject({ missing: true, reason: expect.stringContaining('ingest-') });
    }
    expect(report.backlog).toBe(3);

    expect(report.dlq).toMatchObject({ missing: false, scanned: 1, complete: true });
    expect(report.dlq.counts?.total).toBe(1);
    expect(report.dlq.byClass).toEqual({
      OVER_QUOTA: { count: 1, oldestFirstFailureAt: new Date(writtenAt).toISOString() },
    });

    expect(report.budget.missing).toBe(false);
    if (report.budget.missing) return;
    const start = report.budget.status.operations.find((o) => o.operation === 'StartTaskContact');
    const transfer = report.budget.status.operations.find((o) => o.operation === 'TransferContact');
    expect(start).toMatchObject({
      hasBudget: true,
      ceiling: 2,
      lastThrottle: { at: new Date(writtenAt - 1_000).toISOString(), hold: 0.5 },
      fallback: { lastAt: new Date(writtenAt - 2_000).toISOString(), recent: true },
    });
    // Held at 0.5 a second ago, plus the curve's additive growth since.
    expect(start?.budget).toMatchObject({ phase: 'hold' });
    expect(start?.budget?.fraction).toBeGreaterThanOrEqual(0.5);
    expect(start?.budget?.fraction).toBeLessThan(0.55);
    expect(start?.window).toMatchObject({ minutes: 3, calls: 40, throttled: 4, throttledShare: 0.1 });
    const window = start?.window;
    expect(window?.achievedPerSecond).toBeCloseTo(36 / (window?.seconds ?? 1), 10);
    expect(start?.lanes.urgent).toMatchObject({ granted: 6, meanWaitMs: 100 });
    expect(start?.lanes.normal).toMatchObject({ granted: 30, meanWaitMs: 300 });
    expect(transfer).toMatchObject({ hasBudget: false, budget: null, window: { calls: 0 } });

    expect(report.drain).toMatchObject({ backlog: 3, basis: 'achieved' });
    expect(report.drain.seconds).toBeCloseTo(3 / (window?.achievedPerSecond ?? 1), 6);
  });

  it('prints the same figures as a table by default, leaving the DLQ message in place', async () => {
    // Act
    const result = await cli(['status']);
    const again = await cli(['status', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.out).toContain('connect-task-ingest status (stage local');
    expect(result.out).toMatch(/normal\s+3\s+0\s+0\s+3/);
    expect(result.out).toMatch(/OVER_QUOTA\s+1/);
    expect(result.out).toContain('StartTaskContact');
    expect(result.out).toContain('fallback to the local rate: YES');
    expect(result.out).toMatch(/TransferContact\n {2}no calls yet/);
    expect(result.out).toMatch(/Drain: about .* for 3 message\(s\) at the achieved/);
    expect((JSON.parse(again.out) as StatusReport).dlq.byClass.OVER_QUOTA?.count).toBe(1);
  });

  it('reports the queues and the budget table of a stage that does not exist as missing, exit 0', async () => {
    // Act
    const result = await cli(['--stage', 'nosuchstage', 'status', '--json']);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as StatusReport;
    expect(report.lanes.every((l) => l.missing)).toBe(true);
    expect(report.dlq.missing).toBe(true);
    expect(report.budget).toEqual({ table: 'connect-task-ingest-nosuchstage-budget', missing: true });
    expect(report.drain).toMatchObject({ backlog: 0, basis: 'empty' });
  });

  it('refuses a window outside 1..1440 minutes as a usage error', async () => {
    const result = await cli(['status', '--minutes', '0']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('--minutes');
  });
});
