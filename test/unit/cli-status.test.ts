import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
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
import { createDynamoBudgetStatusPort } from '#lib/budget/status-store.ts';
import { runCli } from '#test/support/cli.ts';

const BASE = 'http://127.0.0.1:4566/000000000000/connect-task-ingest-local-';

describe('task-ingest status (in process, mocked clients)', () => {
  const sqs = mockClient(SQSClient);
  const dynamo = mockClient(DynamoDBClient);

  /** The sandbox's clock route, answered without a sandbox: the machine's time. */
  const sandboxClock = async () => Response.json({ now: new Date().toISOString() });
  const cli = (argv: string[], env: Env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }) =>
    runCli(argv, {
      env,
      fetch: sandboxClock,
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
