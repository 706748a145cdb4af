import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '#cli/commands/status/collect.ts';
import type { Env } from '#cli/context.ts';
import { INSTANCE_ID, OTHER_INSTANCE_ID } from '#common/world.ts';
import { createDynamoBudgetStatusPort } from '#lib/budget/status-store.ts';
import { runCli } from '#test/support/cli.ts';

const BASE = 'http://127.0.0.1:4566/000000000000/connect-task-ingest-local-';

describe('task-ingest status (in process, mocked clients)', () => {
  const sqs = mockClient(SQSClient);
  const dynamo = mockClient(DynamoDBClient);

  /** The Connect emulator's configuration the fake sandbox answers (undefined: no such route, 404). */
  let emulatorConfig: Record<string, unknown> | undefined;
  /** The sandbox's clock route (the machine's time) and config route, answered without a sandbox. */
  const sandboxRoutes = async (url: URL | string | Request) => {
    const path = new URL(url instanceof Request ? url.url : url).pathname;
    if (path === '/_sandbox/clock') return Response.json({ now: new Date().toISOString() });
    if (path === '/_sandbox/config' && emulatorConfig !== undefined) return Response.json(emulatorConfig);
    return Response.json({ message: 'no such route' }, { status: 404 });
  };
  const cli = (argv: string[], env: Env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }) =>
    runCli(argv, {
      env,
      fetch: sandboxRoutes as typeof fetch,
      clients: {
        sqs: () => new SQSClient({ region: 'us-east-1' }),
        dynamo: () => new DynamoDBClient({ region: 'us-east-1' }),
      },
    });

  beforeEach(() => {
    sqs.reset();
    dynamo.reset();
    sqs.on(GetQueueUrlCommand).callsFake(async (input: { QueueName: string }) => {
      if (input.QueueName.endsWith('-ingest-bulk')) {
        throw new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} });
      }
      return { QueueUrl: `${BASE}${input.QueueName.slice('connect-task-ingest-local-'.length)}` };
    });
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        ApproximateNumberOfMessages: '4',
        ApproximateNumberOfMessagesNotVisible: '1',
        ApproximateNumberOfMessagesDelayed: '0',
      },
    });
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(BatchGetItemCommand).resolves({ Responses: {} });
    dynamo.on(QueryCommand).resolves({ Count: 0 });
    emulatorConfig = undefined;
  });
  afterAll(() => {
    sqs.restore();
    dynamo.restore();
  });

  it('reports a missing lane queue, reads no DLQ message with --dlq-scan 0, and says "no calls yet"', async () => {
    // Act
    const result = await cli(['status', '--json', '--dlq-scan', '0']);

    // Assess
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as StatusReport;
    expect(report.lanes.map((l) => [l.lane, l.missing])).toEqual([
      ['urgent', false],
      ['normal', false],
      ['bulk', true],
    ]);
    expect(report.backlog).toBe(10);
    expect(report.dlq).toMatchObject({ missing: false, scanned: 0, complete: false, byClass: {} });
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    expect(report.budget.missing).toBe(false);
    if (!report.budget.missing) {
      expect(report.budget.status.operations.every((o) => !o.hasBudget)).toBe(true);
    }
    expect(report.drain).toEqual({ backlog: 10, seconds: null, basis: 'unknown', ratePerSecond: null });
    const table = dynamo.commandCalls(GetItemCommand)[0]?.args[0].input.TableName;
    expect(table).toBe('connect-task-ingest-local-budget');
  });

  it('reads the budget table named by BUDGET_TABLE and reports it missing when it does not exist', async () => {
    // Prepare
    dynamo
      .on(GetItemCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));

    // Act
    const result = await cli(['status', '--json', '--dlq-scan', '0'], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      BUDGET_TABLE: 'my-budget',
    });

    // Assess
    expect(result.code).toBe(0);
    expect((JSON.parse(result.out) as StatusReport).budget).toEqual({ table: 'my-budget', missing: true });
  });

  it('fails with exit 1 when a queue cannot be read for another reason than not existing', async () => {
    // Prepare
    sqs.on(GetQueueAttributesCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));

    // Act
    const result = await cli(['status', '--dlq-scan', '0']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.err).toContain('AccessDenied: denied');
  });

  /** Open tasks per instance: the count of the `open#<instanceId>` partition of the pending index. */
  function openTasksPerInstance(counts: Record<string, number>): void {
    dynamo.on(QueryCommand).callsFake(async (input: QueryCommandInput) => {
      expect(input.IndexName).toBe('byPending');
      const partition = String(input.ExpressionAttributeValues?.[':p']?.S);
      return { Count: counts[partition.slice('open#'.length)] ?? 0 };
    });
  }

  it("compares each instance's open tasks with the sandbox emulator's quota when it answers, naming it", async () => {
    // Prepare
    openTasksPerInstance({ [INSTANCE_ID]: 3 });
    emulatorConfig = { activeTaskQuota: 4 };

    // Act
    const json = await cli(['status', '--json', '--dlq-scan', '0']);
    const text = await cli(['status', '--dlq-scan', '0']);

    // Assess
    expect(json.code, json.err).toBe(0);
    const { openTasks } = JSON.parse(json.out) as StatusReport;
    expect(openTasks.quota).toEqual({
      value: 4,
      source: 'sandbox',
      from: "the sandbox Connect emulator's activeTaskQuota (GET /_sandbox/config)",
    });
    expect(openTasks.instances).toEqual([{ instanceId: INSTANCE_ID, open: 3, share: 0.75 }]);
    expect(openTasks.table).toBe('connect-task-ingest-local-ledger');
    expect(text.out).toContain(
      "Open tasks (the service's, per instance; active-task quota 4, from the sandbox Connect emulator's activeTaskQuota (GET /_sandbox/config))",
    );
    expect(text.out).toMatch(new RegExp(`${INSTANCE_ID}\\s+3\\s+4\\s+75\\.0%`));
  });

  it("uses ACTIVE_TASK_QUOTA, else the stage's activeTaskQuota param, when no sandbox config answers", async () => {
    // Prepare
    openTasksPerInstance({ [INSTANCE_ID]: 5, [OTHER_INSTANCE_ID]: 1 });
    const aws = { TASK_INGEST_STAGE: 'prod', CONNECT_INSTANCE_IDS: `${INSTANCE_ID},${OTHER_INSTANCE_ID}` };

    // Act
    const fromEnv = await cli(['status', '--json', '--dlq-scan', '0'], { ...aws, ACTIVE_TASK_QUOTA: '10' });
    const fromParam = await cli(['status', '--json', '--dlq-scan', '0'], aws);
    const sandboxWithoutConfig = await cli(['status', '--json', '--dlq-scan', '0']);

    // Assess
    const env = (JSON.parse(fromEnv.out) as StatusReport).openTasks;
    expect(env.quota).toEqual({ value: 10, source: 'ACTIVE_TASK_QUOTA', from: 'ACTIVE_TASK_QUOTA' });
    expect(env.instances).toEqual([
      { instanceId: INSTANCE_ID, open: 5, share: 0.5 },
      { instanceId: OTHER_INSTANCE_ID, open: 1, share: 0.1 },
    ]);
    expect((JSON.parse(fromParam.out) as StatusReport).openTasks.quota).toEqual({
      value: 2500,
      source: 'serverless.yml',
      from: 'serverless.yml param activeTaskQuota (stage prod)',
    });
    expect((JSON.parse(sandboxWithoutConfig.out) as StatusReport).openTasks.quota).toMatchObject({
      source: 'serverless.yml',
      from: 'serverless.yml param activeTaskQuota (stage local)',
    });
  });

  it('refuses an ACTIVE_TASK_QUOTA that is not a whole number (exit 1)', async () => {
    const result = await cli(['status', '--dlq-scan', '0'], {
      TASK_INGEST_STAGE: 'prod',
      CONNECT_INSTANCE_IDS: INSTANCE_ID,
      ACTIVE_TASK_QUOTA: 'lots',
    });
    expect(result.code).toBe(1);
    expect(result.err).toContain('ACTIVE_TASK_QUOTA is not a whole number ≥ 0: lots');
  });

  it('says the instances are unknown on AWS without CONNECT_INSTANCE_IDS, and a missing ledger table', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));

    // Act
    const unknown = await cli(['status', '--json', '--dlq-scan', '0'], { TASK_INGEST_STAGE: 'prod' });
    const unknownText = await cli(['status', '--dlq-scan', '0'], { TASK_INGEST_STAGE: 'prod' });
    const missing = await cli(['status', '--json', '--dlq-scan', '0']);

    // Assess
    expect(unknown.code, unknown.err).toBe(0);
    expect((JSON.parse(unknown.out) as StatusReport).openTasks).toMatchObject({
      instances: [],
      instancesUnknown: "the stage's Connect instances are unknown: set CONNECT_INSTANCE_IDS",
    });
    expect(unknownText.out).toContain(
      "  the stage's Connect instances are unknown: set CONNECT_INSTANCE_IDS",
    );
    expect(missing.code, missing.err).toBe(0);
    expect((JSON.parse(missing.out) as StatusReport).openTasks).toMatchObject({
      missing: true,
      table: 'connect-task-ingest-local-ledger',
    });
  });

  it('needs a stage against AWS (usage error)', async () => {
    const result = await cli(['status'], {});
    expect(result.code).toBe(2);
    expect(result.err).toContain('no stage');
  });
});

describe('createDynamoBudgetStatusPort', () => {
  const dynamo = mockClient(DynamoDBClient);
  afterAll(() => dynamo.restore());

  it('reads minute items in batches of 100 and asks again for unprocessed keys', async () => {
    // Prepare
    dynamo.reset();
    const ids = Array.from({ length: 150 }, (_, i) => `StartTaskContact#${i}`);
    let first = true;
    dynamo.on(BatchGetItemCommand).callsFake((input) => {
      const keys = input.RequestItems.budget.Keys as Array<{ id: { S: string } }>;
      const served = first ? keys.slice(0, 10) : keys;
      const rest = first ? keys.slice(10) : [];
      first = false;
      return {
        Responses: { budget: served.map((k) => marshall({ id: k.id.S, calls: 1 })) },
        ...(rest.length > 0 ? { UnprocessedKeys: { budget: { Keys: rest } } } : {}),
      };
    });
    const delays: number[] = [];
    const port = createDynamoBudgetStatusPort({
      client: new DynamoDBClient({ region: 'us-east-1' }),
      tableName: 'budget',
      delay: async (ms) => {
        delays.push(ms);
      },
    });

    // Act
    const items = await port.getItems(ids);

    // Assess
    expect(items.size).toBe(150);
    expect(items.get('StartTaskContact#149')).toEqual({ id: 'StartTaskContact#149', calls: 1 });
    const calls = dynamo.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems?.budget);
    expect(calls.map((c) => c?.Keys?.length)).toEqual([100, 90, 50]);
    expect(calls.every((c) => c?.ConsistentRead === true)).toBe(true);
    expect(delays).toEqual([50]);
  });
});
