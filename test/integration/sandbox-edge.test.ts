import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectClient, StartTaskContactCommand } from '@aws-sdk/client-connect';
import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS, type Sandbox, sandboxPortFromEnv, startSandbox } from '#sandbox/index.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';

describe('the sandbox edge endpoint', () => {
  let sandbox: Sandbox;
  let config: { endpoint: string; region: string; credentials: typeof SANDBOX_CREDENTIALS };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    config = { endpoint: sandbox.endpoint, region: 'us-east-1', credentials: SANDBOX_CREDENTIALS };
  });
  afterAll(async () => {
    await sandbox.stop();
  });

  it('listens on a free loopback port when asked for port 0', () => {
    expect(sandbox.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.endpoint).not.toBe('http://127.0.0.1:0');
  });

  it('creates the queues of serverless.yml with their attributes and the redrive policy to the DLQ', async () => {
    const sqs = new SQSClient(config);
    const urls = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
    expect(urls.map((u) => u.split('/').pop()).sort()).toEqual([
      'connect-task-ingest-local-contact-events',
      'connect-task-ingest-local-contact-events-dlq',
      'connect-task-ingest-local-dlq',
      'connect-task-ingest-local-ingest',
      'connect-task-ingest-local-ingest-bulk',
      'connect-task-ingest-local-ingest-urgent',
    ]);
    // Every lane queue: urgent, normal (the ingest queue), bulk.
    for (const queue of ['IngestUrgentQueue', 'IngestQueue', 'IngestBulkQueue']) {
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: sandbox.resources.queues[queue]?.url,
          AttributeNames: ['All'],
        }),
      );
      expect(attrs.Attributes?.VisibilityTimeout, queue).toBe('360');
      expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}'), queue).toEqual({
        deadLetterTargetArn: sandbox.resources.queues.DeadLetterQueue?.arn,
        maxReceiveCount: 10,
      });
    }
    sqs.destroy();
  });

  it('creates the tables of serverless.yml, including the transfers GSI on status and due time', async () => {
    const dynamo = new DynamoDBClient(config);
    const table = await dynamo.send(
      new DescribeTableCommand({ TableName: 'connect-task-ingest-local-transfers' }),
    );
    expect(table.Table?.KeySchema).toEqual([
      { AttributeName: 'contactId', KeyType: 'HASH' },
      { AttributeName: 'planId', KeyType: 'RANGE' },
    ]);
    expect(table.Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe('byStatusDue');
    expect(table.Table?.GlobalSecondaryIndexes?.[0]?.KeySchema).toEqual([
      { AttributeName: 'status', KeyType: 'HASH' },
      { AttributeName: 'dueAt', KeyType: 'RANGE' },
    ]);
    dynamo.destroy();
  });

  it('routes DynamoDB calls to dynalite through the same endpoint', async () => {
    const dynamo = new DynamoDBClient(config);
    await dynamo.send(
      new PutItemCommand({
        TableName: 'connect-task-ingest-local-ledger',
        Item: { clientToken: { S: 'edge-test' }, contactId: { S: 'c-1' } },
      }),
    );
    const got = await dynamo.send(
      new GetItemCommand({
        TableName: 'connect-task-ingest-local-ledger',
        Key: { clientToken: { S: 'edge-test' } },
      }),
    );
    expect(got.Item?.contactId?.S).toBe('c-1');
    dynamo.destroy();
  });

  it('accepts and ignores UpdateTimeToLive, which dynalite lacks', async () => {
    const dynamo = new DynamoDBClient(config);
    const out = await dynamo.send(
      new UpdateTimeToLiveCommand({
        TableName: 'connect-task-ingest-local-ledger',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    expect(out.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    dynamo.destroy();
  });

  it('routes SQS (AWS JSON 1.0) and Connect (REST) calls by request on one port', async () => {
    const sqs = new SQSClient(config);
    const connect = new ConnectClient({ ...config, maxAttempts: 1 });
    const queueUrl = sandbox.resources.queues.DeadLetterQueue?.url;
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }));
    expect(received.Messages?.[0]?.Body).toBe('hello');
    const task = await connect.send(
      new StartTaskContactCommand({ InstanceId: INSTANCE, ContactFlowId: FLOW, Name: 'edge routing' }),
    );
    expect(task.ContactId).toBeTruthy();
    sqs.destroy();
    connect.destroy();
  });

  it('answers an unknown route with an AWS-shaped 404 error, not a crash or a hang', async () => {
    const res = await fetch(`${sandbox.endpoint}/no/such/api`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(((await res.json()) as { message: string }).message).toContain('/no/such/api');
  });

  it('answers a Query-protocol SQS request with a clear protocol error', async () => {
    const res = await fetch(sandbox.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=ListQueues&Version=2012-11-05',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnsupportedProtocol');
  });

  it('answers a malformed DynamoDB request with an AWS-shaped error and keeps serving', async () => {
    const res = await fetch(sandbox.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'DynamoDB_20120810.GetItem', 'content-type': 'application/x-amz-json-1.0' },
      body: '{not json',
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const health = await fetch(`${sandbox.endpoint}/_sandbox/health`);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
  });

  it('moves the shared clock through the admin API', async () => {
    const before = (await (await fetch(`${sandbox.endpoint}/_sandbox/clock`)).json()) as { offsetMs: number };
    const res = await fetch(`${sandbox.endpoint}/_sandbox/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceSeconds: 90 }),
    });
    const after = (await res.json()) as { offsetMs: number };
    expect(after.offsetMs - before.offsetMs).toBe(90_000);
  });

  it('refuses a negative clock move with an AWS-shaped 400', async () => {
    const res = await fetch(`${sandbox.endpoint}/_sandbox/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceSeconds: -5 }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidParameterException');
  });

  it('injects DynamoDB 500s at the configured rate and stops when reset', async () => {
    const dynamo = new DynamoDBClient({ ...config, maxAttempts: 1 });
    await fetch(`${sandbox.endpoint}/_sandbox/faults`, {
      method: 'PUT',
      body: JSON.stringify({ dynamodbErrorRate: 1 }),
    });
    await expect(
      dynamo.send(new DescribeTableCommand({ TableName: 'connect-task-ingest-local-rules' })),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
    await fetch(`${sandbox.endpoint}/_sandbox/reset`, { method: 'POST' });
    const ok = await dynamo.send(new DescribeTableCommand({ TableName: 'connect-task-ingest-local-rules' }));
    expect(ok.Table?.TableName).toBe('connect-task-ingest-local-rules');
    dynamo.destroy();
  });

  it('lists queue counts through the admin API', async () => {
    const res = await fetch(`${sandbox.endpoint}/_sandbox/queues`);
    const body = (await res.json()) as { queues: Array<{ name: string; visible: number }> };
    expect(body.queues.map((q) => q.name)).toContain('connect-task-ingest-local-ingest');
  });

  it('resolves the functions environment from serverless.yml against the sandbox', () => {
    const env = sandbox.functionEnvironment('ingest');
    expect(env.RULES_TABLE).toBe('connect-task-ingest-local-rules');
    expect(env.INGEST_QUEUE_URL).toBe(sandbox.resources.queues.IngestQueue?.url);
    expect(env.AWS_ENDPOINT_URL).toBe(sandbox.endpoint);
  });
});

describe('startSandbox options', () => {
  it('keeps DynamoDB data across restarts with a data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-sandbox-'));
    try {
      const first = await startSandbox({ port: 0, dataDir: dir });
      const c1 = new DynamoDBClient({
        endpoint: first.endpoint,
        region: 'us-east-1',
        credentials: SANDBOX_CREDENTIALS,
      });
      await c1.send(
        new PutItemCommand({
          TableName: 'connect-task-ingest-local-ledger',
          Item: { clientToken: { S: 'persisted' }, contactId: { S: 'c-9' } },
        }),
      );
      c1.destroy();
      await first.stop();

      const second = await startSandbox({ port: 0, dataDir: dir });
      const c2 = new DynamoDBClient({
        endpoint: second.endpoint,
        region: 'us-east-1',
        credentials: SANDBOX_CREDENTIALS,
      });
      const got = await c2.send(
        new GetItemCommand({
          TableName: 'connect-task-ingest-local-ledger',
          Key: { clientToken: { S: 'persisted' } },
        }),
      );
      expect(got.Item?.contactId?.S).toBe('c-9');
      c2.destroy();
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the port from SANDBOX_PORT and refuses a bad one with a clear error', () => {
    expect(sandboxPortFromEnv({})).toBe(4566);
    expect(sandboxPortFromEnv({ SANDBOX_PORT: '4999' })).toBe(4999);
    expect(() => sandboxPortFromEnv({ SANDBOX_PORT: 'abc' })).toThrow(/SANDBOX_PORT must be an integer/);
  });
});
