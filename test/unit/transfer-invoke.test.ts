import { ConnectClient, DescribeContactCommand, TransferContactCommand } from '@aws-sdk/client-connect';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { TransferStoreError } from '#lib/transfers/errors.ts';
import { ConnectTransferGateway } from '#lib/transfers/gateway.ts';
import { handleTransferInvocation, type TransferInvocationDeps } from '#lib/transfers/invoke.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { lambdaContext } from '#test/support/lambda.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';
import { InMemoryTransferStore } from '#test/support/memory-transfer-store.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const QUEUE = 'a0a0a0a0-0000-4000-8000-000000000002';
const USER = 'b0b0b0b0-0000-4000-8000-000000000001';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const T0 = Date.UTC(2024, 4, 1, 9, 0, 0);

const connectMock = mockClient(ConnectClient);
const dynamoMock = mockClient(DynamoDBClient);

afterEach(() => {
  connectMock.reset();
  dynamoMock.reset();
  vi.unstubAllEnvs();
});

describe('handleTransferInvocation', () => {
  let store: InMemoryTransferStore;
  let ledger: InMemoryLedger;
  let clock: number;

  const deps = (): TransferInvocationDeps => ({
    store,
    ledger,
    gateway: new ConnectTransferGateway(new ConnectClient({ region: 'us-east-1' })),
    limiter: createRateLimiter({ ratePerSecond: Number.POSITIVE_INFINITY }),
    now: () => clock,
    owner: 'req-1',
    leaseMs: 60_000,
    remainingTimeMs: () => 60_000,
  });

  beforeEach(() => {
    store = new InMemoryTransferStore();
    ledger = new InMemoryLedger();
    clock = T0;
    connectMock.on(DescribeContactCommand).resolves({ Contact: { Id: 'c-1', Channel: 'TASK' } });
    connectMock.on(TransferContactCommand).resolves({ ContactId: 'c-1', ContactArn: 'arn:aws:connect:c-1' });
  });

  it('schedules and performs at once a request without "at", sending only the queue', async () => {
    // Prepare
    const event = {
      id: 'eb-1',
      detail: { instanceId: INSTANCE, contactId: 'c-1', queueId: QUEUE, contactFlowId: FLOW },
    };
    // Act
    const result = await handleTransferInvocation(deps(), event);
    // Assess
    expect(result).toMatchObject({
      kind: 'request',
      contactId: 'c-1',
      scheduled: 'created',
      dueAt: T0,
      outcome: 'done',
    });
    const sent = connectMock.commandCalls(TransferContactCommand)[0]?.args[0].input;
    expect(sent).toEqual({
      InstanceId: INSTANCE,
      ContactId: 'c-1',
      QueueId: QUEUE,
      ContactFlowId: FLOW,
      ClientToken: expect.stringMatching(/^cti1-xfer-[0-9a-f]{64}$/),
    });
  });

  it('only schedules a request whose "at" is in the future', async () => {
    // Prepare
    const event = {
      detail: { instanceId: INSTANCE, contactId: 'c-1', userId: USER, contactFlowId: FLOW, at: T0 + 60_000 },
    };
    // Act
    const result = await handleTransferInvocation(deps(), event);
    // Assess
    expect(result).toMatchObject({ kind: 'request', scheduled: 'created', dueAt: T0 + 60_000 });
    expect(result).not.toHaveProperty('outcome');
    expect(connectMock.calls()).toHaveLength(0);
    expect(store.snapshot()[0]).toMatchObject({ status: 'PENDING', userId: USER });
  });

  it('resolves a request naming the earlier event through the ledger', async () => {
    // Prepare
    const clientToken = taskClientToken(INSTANCE, 'crm', 'ticket-7');
    await ledger.put({
      clientToken,
      contactId: 'c-7',
      instanceId: INSTANCE,
      source: 'crm',
      eventId: 'e-7',
      idempotencyKey: 'ticket-7',
      ruleId: 'r',
      createdAt: T0,
    });
    const event = {
      detail: {
        instanceId: INSTANCE,
        source: 'crm',
        idempotencyKey: 'ticket-7',
        queueId: QUEUE,
        contactFlowId: FLOW,
        at: T0 + 1,
      },
    };
    // Act
    const result = await handleTransferInvocation(deps(), event);
    // Assess
    expect(result).toMatchObject({ kind: 'request', contactId: 'c-7' });
  });

  it('refuses a request naming both a queue and a user before anything is stored', async () => {
    // Prepare
    const event = {
      detail: { instanceId: INSTANCE, contactId: 'c-1', queueId: QUEUE, userId: USER, contactFlowId: FLOW },
    };
    // Act / Assess
    await expect(handleTransferInvocation(deps(), event)).rejects.toThrow(/exactly one of queueId or userId/);
    expect(store.snapshot()).toEqual([]);
  });

  it('runs the sweep for the scheduled input', async () => {
    // Act
    const result = await handleTransferInvocation(deps(), { action: 'sweep' });
    // Assess
    expect(result).toEqual({
      kind: 'sweep',
      summary: { claimed: 0, done: 0, failed: 0, rescheduled: 0, skipped: 0, errors: 0, stoppedEarly: false },
    });
  });

  it.each([[null], [[]], [{ action: 'redrive' }], [{ hello: 'world' }], [{ action: 'sweep', max: -1 }]])(
    'refuses the input %j with a TransferInvocationError',
    async (event) => {
      // Act / Assess
      await expect(handleTransferInvocation(deps(), event)).rejects.toMatchObject({
        name: 'TransferInvocationError',
      });
    },
  );
});

describe('ConnectTransferGateway', () => {
  it('reads the channel and the disconnect time from DescribeContact', async () => {
    // Prepare
    connectMock.on(DescribeContactCommand).resolves({
      Contact: { Id: 'c-1', Channel: 'TASK', DisconnectTimestamp: new Date(T0) },
    });
    const gateway = new ConnectTransferGateway(new ConnectClient({ region: 'us-east-1' }));
    // Act
    const snapshot = await gateway.describeContact(INSTANCE, 'c-1');
    // Assess
    expect(snapshot).toEqual({ contactId: 'c-1', channel: 'TASK', disconnectedAt: T0 });
    expect(connectMock.commandCalls(DescribeContactCommand)[0]?.args[0].input).toEqual({
      InstanceId: INSTANCE,
      ContactId: 'c-1',
    });
  });
});

describe('DynamoTransferStore (wire)', () => {
  const store = () =>
    new DynamoTransferStore({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 't' });

  it('writes a plan with a condition on the key, and reports a redelivery as "exists"', async () => {
    // Prepare
    dynamoMock
      .on(PutItemCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    const item = {
      contactId: 'c-1',
      planId: 'p',
      instanceId: INSTANCE,
      status: 'PENDING' as const,
      dueAt: T0,
      queueId: QUEUE,
      contactFlowId: FLOW,
      attempts: 0,
      createdAt: T0,
      updatedAt: T0,
      expiresAt: 1,
    };
    // Act
    const outcomes = [await store().schedule(item), await store().schedule(item)];
    // Assess
    expect(outcomes).toEqual(['created', 'exists']);
    expect(dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 't',
      ConditionExpression: 'attribute_not_exists(contactId)',
    });
  });

  it('claims with a condition that only a due PENDING plan or an expired lease satisfies', async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).resolves({});
    // Act
    await store().claim({ contactId: 'c-1', planId: 'p' }, 'owner', 1_000, T0);
    // Assess
    const input = dynamoMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      '(#status = :pending AND dueAt <= :now) OR (#status = :claimed AND leaseUntil <= :now)',
    );
    expect(input?.ExpressionAttributeValues).toMatchObject(
      marshall({ ':now': T0, ':until': T0 + 1_000, ':owner': 'owner' }),
    );
  });

  it('wraps DynamoDB failures in a TransferStoreError that keeps the cause', async () => {
    // Prepare
    const cause = new Error('ProvisionedThroughputExceeded');
    dynamoMock.on(UpdateItemCommand).rejects(cause);
    // Act
    const error = await store()
      .fail({ contactId: 'c-1', planId: 'p' }, 'owner', 'r', T0)
      .catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(TransferStoreError);
    expect((error as Error).cause).toBe(cause);
  });

  it('refuses a stored record that is not a transfer item', async () => {
    // Prepare
    dynamoMock
      .on(QueryCommand)
      .resolves({ Items: [marshall({ contactId: 'c-1', planId: 'p', status: 'WEIRD' })] });
    // Act / Assess
    await expect(store().queryDue(T0, 5)).rejects.toMatchObject({ name: 'TransferRecordError' });
  });
});

describe('functions/transfer handler', () => {
  it('wires the sweep from the environment and returns its summary', async () => {
    // Prepare
    vi.stubEnv('TRANSFERS_TABLE', 'transfers');
    vi.stubEnv('LEDGER_TABLE', 'ledger');
    vi.stubEnv('TRANSFER_RATE', '2');
    vi.stubEnv('BUDGET_TABLE', 'budget');
    dynamoMock.on(QueryCommand).resolves({ Items: [] });
    const { handler } = await import('#functions/transfer.ts');
    // Act
    const result = await handler({ action: 'sweep' }, lambdaContext({ functionName: 'transfer' }));
    // Assess
    expect(result).toMatchObject({ kind: 'sweep', summary: { claimed: 0 } });
    const queried = dynamoMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queried.map((q) => [q.TableName, q.IndexName])).toEqual([
      ['transfers', 'byStatusDue'],
      ['transfers', 'byStatusDue'],
    ]);
  });
});
