/**
 * The 12-task PreviousContactId chain limit told apart from the active-task quota (no network):
 * the ledger's chain counter (counted once per task, whatever the redeliveries), the task starter's
 * classification of a 402, and processRecord's routing of a ChainLimit failure to the DLQ.
 */
import {
  ConnectClient,
  ServiceQuotaExceededException,
  StartTaskContactCommand,
  type StartTaskContactCommandInput,
} from '@aws-sdk/client-connect';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import type { RateLimiter } from '#lib/connect/rate-limiter.ts';
import { TokenDerivationError } from '#lib/idempotency/errors.ts';
import { chainCounterKey, taskClientToken } from '#lib/idempotency/token.ts';
import { createAfterCreate } from '#lib/ingest/after-create.ts';
import { ChainLimitError } from '#lib/ingest/errors.ts';
import type { StartTaskCall } from '#lib/ingest/ports.ts';
import { type IngestDeps, processRecord } from '#lib/ingest/process-record.ts';
import { createTaskStarter } from '#lib/ingest/start-task.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { LedgerStoreError } from '#lib/ledger/errors.ts';
import type { LedgerEntry } from '#lib/ledger/port.ts';
import type { LogFields } from '#lib/observability/logger.ts';
import { classifyError } from '#lib/retry/classify.ts';
import type { OutgoingMessage } from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE, type FailureRecord } from '#lib/retry/failure-record.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import type { TransferStore } from '#lib/transfers/store/port.ts';
import { lambdaContext, sqsRecord } from '#test/support/lambda.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';
const PREVIOUS = 'c0ffee00-0000-4000-8000-000000000001';
const LIMIT = DEFAULT_TASK_LIMITS.previousContactChainMax;
const NOW = Date.parse('2024-05-01T12:00:00Z');
const SECRET = 'Ada Example wants a refund';

const dynamoMock = mockClient(DynamoDBClient);
const connectMock = mockClient(ConnectClient);

afterEach(() => {
  dynamoMock.reset();
  connectMock.reset();
});

function compile(input: unknown): CompiledRule {
  const result = validateRule(input);
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

const chainRule = (onChainLimit: 'park' | 'related' = 'park') =>
  compile({
    source: 'com.example.chain',
    ruleId: 'chain-rule',
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: {
      name: "'Follow up ' & data.ref",
      description: 'data.details',
      previousContactId: 'data.previous',
    },
    options: { onChainLimit },
  });

const quotaExceeded = () =>
  new ServiceQuotaExceededException({
    message: 'there can be a maximum of 12 linked task contacts in a PreviousContactId chain',
    $metadata: { httpStatusCode: 402 },
  });

// ---- the key ----------------------------------------------------------------------------------------

describe('chainCounterKey', () => {
  it('reads as chain#<instanceId>#<previousContactId> for Connect ids, the same every time', () => {
    expect(chainCounterKey(INSTANCE, PREVIOUS)).toBe(`chain#${INSTANCE}#${PREVIOUS}`);
    expect(chainCounterKey(INSTANCE, PREVIOUS)).toBe(chainCounterKey(INSTANCE, PREVIOUS));
  });

  it('never lets a # inside one part make two chains share a key, nor meet a task token', () => {
    expect(chainCounterKey('a#b', 'c')).not.toBe(chainCounterKey('a', 'b#c'));
    expect(chainCounterKey(INSTANCE, PREVIOUS)).not.toBe(taskClientToken(INSTANCE, 'src', PREVIOUS));
    expect(taskClientToken(INSTANCE, 'src', PREVIOUS).startsWith('chain#')).toBe(false);
  });

  it('refuses empty parts', () => {
    expect(() => chainCounterKey('', PREVIOUS)).toThrow(TokenDerivationError);
    expect(() => chainCounterKey(INSTANCE, '')).toThrow(TokenDerivationError);
  });
});

// ---- the counter ------------------------------------------------------------------------------------

const noTransfers = {
  async schedule() {
    throw new Error('no transfer is planned in these tests');
  },
} as unknown as TransferStore;

function entry(n: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    clientToken: taskClientToken(INSTANCE, 'com.example.chain', `link-${n}`),
    contactId: `task-${n}`,
    instanceId: INSTANCE,
    source: 'com.example.chain',
    eventId: `link-${n}`,
    idempotencyKey: `link-${n}`,
    ruleId: 'chain-rule',
    createdAt: NOW + n,
    previousContactId: PREVIOUS,
    ...overrides,
  };
}

describe('the ledger counts PreviousContactId chains', () => {
  let ledger: InMemoryLedger;
  let afterCreate: ReturnType<typeof createAfterCreate>;
  beforeEach(() => {
    ledger = new InMemoryLedger();
    afterCreate = createAfterCreate({ ledger, transfers: noTransfers, now: () => NOW });
  });

  it('counts a chained task once, however often its event is delivered, replayed or duplicated', async () => {
    // Prepare
    const rule = chainRule();

    // Act: task 1 ingested, redelivered twice; task 2 ingested once.
    await afterCreate({ entry: entry(1), rule });
    await afterCreate({ entry: entry(1), rule });
    await afterCreate({ entry: { ...entry(1), eventId: 'sqs-redelivery' }, rule });
    await afterCreate({ entry: entry(2), rule });

    // Assess
    expect(await ledger.chainTasks(INSTANCE, PREVIOUS)).toBe(2);
    expect(ledger.calls.countChainTask).toBe(2);
    expect((await ledger.get(entry(1).clientToken))?.previousContactId).toBe(PREVIOUS);
  });

  it('counts twelve distinct tasks as twelve, each under its own chain', async () => {
    // Act
    for (let n = 1; n <= LIMIT; n += 1) await afterCreate({ entry: entry(n), rule: chainRule() });
    await afterCreate({ entry: entry(99, { previousContactId: 'other-contact' }), rule: chainRule() });

    // Assess
    expect(await ledger.chainTasks(INSTANCE, PREVIOUS)).toBe(LIMIT);
    expect(await ledger.chainTasks(INSTANCE, 'other-contact')).toBe(1);
    expect(await ledger.chainTasks('another-instance', PREVIOUS)).toBeUndefined();
  });

  it('counts nothing for a task with no PreviousContactId or one linked as related instead', async () => {
    // Act
    await afterCreate({ entry: entry(1, { previousContactId: undefined }), rule: chainRule() });

    // Assess
    expect(ledger.calls.countChainTask).toBe(0);
    expect(await ledger.chainTasks(INSTANCE, PREVIOUS)).toBeUndefined();
  });
});

describe('DynamoLedger chain counters', () => {
  const ledger = new DynamoLedger({
    client: new DynamoDBClient({ region: 'us-east-1' }),
    tableName: 'ledger',
  });

  it('adds with one unconditional UpdateItem ADD on the counter key', async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).resolves({});
    // Act
    await ledger.countChainTask(INSTANCE, PREVIOUS, NOW);

    // Assess
    const [call] = dynamoMock.commandCalls(UpdateItemCommand);
    expect(call?.args[0].input).toMatchObject({
      TableName: 'ledger',
      Key: { clientToken: { S: chainCounterKey(INSTANCE, PREVIOUS) } },
    });
    expect(call?.args[0].input.UpdateExpression).toMatch(/^ADD tasks :one /);
    expect(call?.args[0].input.ConditionExpression).toBeUndefined();
  });

  it('reports DynamoDB failures as LedgerStoreError', async () => {
    // Prepare
    dynamoMock.on(UpdateItemCommand).rejects(new Error('DynamoDB is down'));
    dynamoMock.on(GetItemCommand).rejects(new Error('DynamoDB is down'));

    // Act + Assess
    await expect(ledger.countChainTask(INSTANCE, PREVIOUS, NOW)).rejects.toBeInstanceOf(LedgerStoreError);
    await expect(ledger.chainTasks(INSTANCE, PREVIOUS)).rejects.toBeInstanceOf(LedgerStoreError);
  });
});

// ---- the classification of a 402 --------------------------------------------------------------------

const freeLimiter: RateLimiter = { waiting: 0, async acquire() {} };

function call(
  onChainLimit: 'park' | 'related',
  request: Partial<StartTaskContactCommandInput> = {},
): StartTaskCall {
  // Asserted, not declared: the lane field is new (lib/lanes.ts) and the chain rules ignore it.
  return {
    clientToken: 'cti1-task-chain-13',
    request: {
      InstanceId: INSTANCE,
      ContactFlowId: FLOW,
      Name: 'Follow up 13',
      Description: SECRET,
      PreviousContactId: PREVIOUS,
      ClientToken: 'cti1-task-chain-13',
      ...request,
    },
    onChainLimit,
    lane: 'normal',
  } as StartTaskCall;
}

function starter(
  chainTasks?: (instanceId: string, previousContactId: string) => Promise<number | undefined>,
) {
  // The idempotency record: every write succeeds, nothing is found.
  dynamoMock.on(PutItemCommand).resolves({});
  dynamoMock.on(UpdateItemCommand).resolves({});
  dynamoMock.on(DeleteItemCommand).resolves({});
  const lookups: Array<[string, string]> = [];
  const warnings: Array<{ message: string; fields: LogFields }> = [];
  const built = createTaskStarter({
    connect: new ConnectClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    idempotencyTable: 'idempotency',
    expirySeconds: 3600,
    limiter: freeLimiter,
    chainLimit: LIMIT,
    log: { warn: (message, fields) => warnings.push({ message, fields }) },
    ...(chainTasks
      ? {
          chainTasks: async (instanceId: string, previousContactId: string) => {
            lookups.push([instanceId, previousContactId]);
            return chainTasks(instanceId, previousContactId);
          },
        }
      : {}),
  });
  built.registerLambdaContext(lambdaContext());
  return { startTask: built.startTask, lookups, warnings };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('createTaskStarter on a 402 for a request with a PreviousContactId', () => {
  it('fails PERMANENT ChainLimit, naming the contact, the count and the limit, when the ledger counts a full chain and the rule parks', async () => {
    // Prepare
    connectMock.on(StartTaskContactCommand).rejects(quotaExceeded());
    const s = starter(async () => LIMIT);

    // Act
    const error = await failureOf(s.startTask(call('park')));

    // Assess
    expect(error).toBeInstanceOf(ChainLimitError);
    const classified = classifyError(error);
    expect(classified).toMatchObject({ class: 'PERMANENT', code: 'ChainLimit' });
    expect(classified.message).toContain(`PreviousContactId ${PREVIOUS}`);
    expect(classified.message).toContain(`already has ${LIMIT} tasks`);
    expect(classified.message).toContain(`at most ${LIMIT} linked tasks`);
    expect(classified.message).toContain('onChainLimit');
    expect(classified.message).not.toContain(SECRET);
    expect((error as Error).cause).toBeInstanceOf(ServiceQuotaExceededException);
    expect(s.lookups).toEqual([[INSTANCE, PREVIOUS]]);
    expect(connectMock.commandCalls(StartTaskContactCommand)).toHaveLength(1);
  });

  it('retries once with RelatedContactId, without asking the ledger, when the rule says related', async () => {
    // Prepare
    connectMock
      .on(StartTaskContactCommand)
      .rejectsOnce(quotaExceeded())
      .resolves({ ContactId: 'task-related-13' });
    const s = starter(async () => LIMIT);

    // Act
    const result = await s.startTask(call('related'));

    // Assess
    expect(result).toEqual({ contactId: 'task-related-13', linkedAsRelated: true, duplicate: false });
    const inputs = connectMock.commandCalls(StartTaskContactCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]?.PreviousContactId).toBeUndefined();
    expect(inputs[1]?.RelatedContactId).toBe(PREVIOUS);
    expect(s.lookups).toEqual([]);
  });

  it.each([
    ['the ledger knows no task of the chain', async () => undefined],
    ['the ledger counts fewer tasks than the limit', async () => LIMIT - 1],
  ])('stays OVER_QUOTA (the active-task quota) when %s', async (_, lookup) => {
    // Prepare
    connectMock.on(StartTaskContactCommand).rejects(quotaExceeded());
    const s = starter(lookup);

    // Act
    const error = await failureOf(s.startTask(call('park')));

    // Assess
    expect(error).toBeInstanceOf(ServiceQuotaExceededException);
    expect(classifyError(error)).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
    });
    expect(s.lookups).toHaveLength(1);
    expect(s.warnings).toEqual([]);
  });

  it('stays OVER_QUOTA and warns without task contents when the chain lookup fails', async () => {
    // Prepare
    connectMock.on(StartTaskContactCommand).rejects(quotaExceeded());
    const s = starter(async () => {
      throw new LedgerStoreError('could not read the PreviousContactId chain counter', {
        cause: Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ProvisionedThroughputExceededException',
        }),
      });
    });

    // Act
    const error = await failureOf(s.startTask(call('park')));

    // Assess
    expect(classifyError(error)).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
    });
    expect(s.warnings).toEqual([
      {
        message: expect.stringContaining('chain count'),
        fields: {
          clientToken: 'cti1-task-chain-13',
          code: 'ChainLookupFailed',
          reason: 'LedgerStoreError <- ProvisionedThroughputExceededException',
        },
      },
    ]);
    expect(JSON.stringify(s.warnings)).not.toContain(SECRET);
    expect(JSON.stringify(s.warnings)).not.toContain('Follow up');
  });

  it('asks the ledger nothing for a 402 without a PreviousContactId, nor without a lookup', async () => {
    // Prepare
    connectMock.on(StartTaskContactCommand).rejects(quotaExceeded());
    const withLookup = starter(async () => LIMIT);

    // Act
    const unchained = await failureOf(
      withLookup.startTask(call('park', { PreviousContactId: undefined, ClientToken: 'cti1-other' })),
    );
    const noLookup = await failureOf(starter().startTask({ ...call('park'), clientToken: 'cti1-third' }));

    // Assess
    expect(classifyError(unchained).class).toBe('OVER_QUOTA');
    expect(classifyError(noLookup).class).toBe('OVER_QUOTA');
    expect(withLookup.lookups).toEqual([]);
  });
});

// ---- routing --------------------------------------------------------------------------------------

function ingestDeps(startTask: IngestDeps['startTask']) {
  const dlq: OutgoingMessage[] = [];
  const entries: LedgerEntry[] = [];
  const metrics: string[] = [];
  const logs: LogFields[] = [];
  const random = () => 0;
  const deps: IngestDeps = {
    rules: { rulesFor: async () => [chainRule()] },
    templates: {
      async get() {
        throw new Error('no templates');
      },
    },
    startTask,
    queue: {
      async changeVisibility() {
        throw new Error('nothing is retried in place in these tests');
      },
      async sendToDlq(message) {
        dlq.push(message);
        return { messageId: `dlq-${dlq.length}` };
      },
      async sendBack() {
        throw new Error('nothing is sent back in these tests');
      },
    },
    afterCreate: async ({ entry: e }) => {
      entries.push(e);
    },
    lifecycle: async () => {
      throw new Error('no update/complete rules in this test');
    },
    requestTransfer: async () => {
      throw new Error('no transfers');
    },
    metrics: { count: (name, dimensions) => metrics.push(`${name}:${dimensions?.code ?? ''}`) },
    log: {
      info: (_m, fields) => logs.push(fields),
      warn: (_m, fields) => logs.push(fields),
      error: (_m, fields) => logs.push(fields),
    },
    limits: DEFAULT_TASK_LIMITS,
    transientBackoff: { baseSeconds: 2, capSeconds: 300, random },
    overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600, random },
    now: () => NOW,
  };
  return { deps, dlq, entries, metrics, logs };
}

const chainedEvent = (id: string) =>
  sqsRecord({
    body: {
      specversion: '1.0',
      source: 'com.example.chain',
      id,
      type: 'follow-up',
      data: { ref: id, details: SECRET, previous: PREVIOUS },
    },
  });

describe('processRecord with the chain limit', () => {
  it('parks a ChainLimit failure in the DLQ as PERMANENT with its reason and no due time', async () => {
    // Prepare
    const f = ingestDeps(async () => {
      throw new ChainLimitError(PREVIOUS, LIMIT, LIMIT, { cause: quotaExceeded() });
    });

    // Act
    const outcome = await processRecord(chainedEvent('link-13'), f.deps);

    // Assess
    expect(outcome).toMatchObject({ status: 'parked', failureClass: 'PERMANENT', code: 'ChainLimit' });
    expect(outcome.status === 'parked' && outcome.reason).toContain(`PreviousContactId ${PREVIOUS}`);
    expect(f.dlq).toHaveLength(1);
    const failure = JSON.parse(
      f.dlq[0]?.MessageAttributes[FAILURE_ATTRIBUTE]?.StringValue ?? '{}',
    ) as FailureRecord;
    expect(failure).toMatchObject({ class: 'PERMANENT', code: 'ChainLimit', attempts: 1 });
    expect(failure.message).toContain(`already has ${LIMIT} tasks`);
    expect(failure.nextAttemptAt).toBeUndefined();
    expect(f.metrics).toEqual(['Permanent:ChainLimit']);
    expect(JSON.stringify(f.logs)).not.toContain(SECRET);
    expect(f.entries).toEqual([]);
  });

  it('hands the PreviousContactId to the ledger entry, unless the task was linked as related', async () => {
    // Prepare
    const linked = vi.fn<() => boolean>().mockReturnValueOnce(false).mockReturnValueOnce(true);
    const f = ingestDeps(async (c) => ({
      contactId: `task-${c.clientToken.slice(-6)}`,
      duplicate: false,
      linkedAsRelated: linked(),
    }));

    // Act
    await processRecord(chainedEvent('link-1'), f.deps);
    await processRecord(chainedEvent('link-2'), f.deps);

    // Assess
    expect(f.entries.map((e) => [e.eventId, e.previousContactId])).toEqual([
      ['link-1', PREVIOUS],
      ['link-2', undefined],
    ]);
    expect('previousContactId' in (f.entries[1] ?? {})).toBe(false);
  });
});
