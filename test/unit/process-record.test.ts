/**
 * processRecord (the ingest use case) with fake ports: no network. Each outcome and each failure route,
 * and what the logs may carry.
 */
import {
  InvalidParameterException,
  ServiceQuotaExceededException,
  ThrottlingException,
} from '@aws-sdk/client-connect';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import type { TaskTemplateView } from '#lib/connect/validate-task.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { IngestRetryError, RecordNotDoneError } from '#lib/ingest/errors.ts';
import type { LifecycleApplier } from '#lib/ingest/lifecycle.ts';
import type {
  AfterCreate,
  IngestMetricName,
  StartTaskCall,
  TaskStarter,
  TransferRequester,
} from '#lib/ingest/ports.ts';
import { type IngestDeps, processRecord, type RecordOutcome } from '#lib/ingest/process-record.ts';
import type { LogFields } from '#lib/observability/logger.ts';
import type { Deadline } from '#lib/retry/deadline.ts';
import {
  fromSdkAttribute,
  type OutgoingMessage,
  readDlqMessage,
  toLambdaAttribute,
  toReplayMessage,
} from '#lib/retry/dlq-message.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
import { FAILURE_ATTRIBUTE, type FailureRecord } from '#lib/retry/failure-record.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { readSample, type SqsRecordInput, sqsRecord, stringAttribute } from '#test/support/lambda.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';

// ---- fixtures --------------------------------------------------------------------------------------

function compile(input: unknown): CompiledRule {
  const result = validateRule(input);
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

const sampleRule = (name: string) => compile(readSample(`rules/${name}`));

/** A raw-JSON create rule of source `bag` whose attributes come from `data.custom`. */
const bagRule = (overrides: Record<string, unknown> = {}) =>
  compile({
    source: 'bag',
    ruleId: 'bag-rule',
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: {
      name: 'data.title',
      description: 'data.details',
      attributes: { tier: 'data.tier' },
      attributesFrom: 'data.custom',
      scheduledTime: 'data.dueAt',
    },
    ...overrides,
  });

const world = readSample<{ instances: Array<{ taskTemplates: TaskTemplateView[] }> }>('sandbox-world.json');
const worldTemplates = new Map(world.instances.flatMap((i) => i.taskTemplates).map((t) => [t.Id, t]));

function connectError<E>(
  Ctor: new (opts: { message: string; $metadata: object }) => E,
  message: string,
  status: number,
): E {
  return new Ctor({ message, $metadata: { httpStatusCode: status } });
}

interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
  error?: unknown;
}

/** Fake ports around processRecord; every call is recorded. */
function setup(rules: CompiledRule[] = [], options: { random?: () => number } = {}) {
  const tokens = new Map<string, string>();
  const starts: StartTaskCall[] = [];
  /** Errors the next StartTaskContact calls throw, in order. */
  const startFailures: unknown[] = [];
  let linkAsRelated = false;
  const startTask: TaskStarter = async (call) => {
    starts.push(call);
    const failure = startFailures.shift();
    if (failure !== undefined) throw failure;
    const known = tokens.get(call.clientToken);
    if (known) return { contactId: known, duplicate: true, linkedAsRelated: false };
    const contactId = `contact-${tokens.size + 1}`;
    tokens.set(call.clientToken, contactId);
    return { contactId, duplicate: false, linkedAsRelated: linkAsRelated };
  };
  const afterCreates: Parameters<AfterCreate>[0][] = [];
  const transfers: Parameters<TransferRequester>[0][] = [];
  const visibility: Array<{ receiptHandle: string; seconds: number }> = [];
  const dlq: OutgoingMessage[] = [];
  const sentBack: Array<{ lane: string; message: OutgoingMessage; delaySeconds: number }> = [];
  const faults = { visibility: false, dlq: false, sendBack: false };
  const metrics: Array<{ name: IngestMetricName; dimensions?: { code?: string; source?: string } }> = [];
  const logs: LogLine[] = [];
  const random = options.random ?? (() => 0);

  const deps: IngestDeps = {
    rules: { rulesFor: async (source) => rules.filter((r) => r.rule.source === source) },
    templates: {
      async get(_instanceId, templateId) {
        const template = worldTemplates.get(templateId);
        if (!template) throw new Error(`unknown template ${templateId}`);
        return template;
      },
    },
    startTask,
    queue: {
      async changeVisibility(receiptHandle, seconds) {
        if (faults.visibility) throw new Error('ChangeMessageVisibility is down');
        visibility.push({ receiptHandle, seconds });
      },
      async sendToDlq(message) {
        if (faults.dlq) throw new Error('SendMessage to the DLQ is down');
        dlq.push(message);
        return { messageId: `dlq-${dlq.length}` };
      },
      async sendBack(lane, message, delaySeconds) {
        if (faults.sendBack) throw new Error('SendMessage to the lane queue is down');
        sentBack.push({ lane, message, delaySeconds });
      },
    },
    afterCreate: async (input) => {
      afterCreates.push(input);
    },
    lifecycle: async () => {
      throw new Error('no update/complete rules in this test');
    },
    requestTransfer: async (input) => {
      transfers.push(input);
      return { contactId: 'contact-earlier', planId: 'plan-1', scheduled: 'created' };
    },
    metrics: { count: (name, dimensions) => metrics.push({ name, ...(dimensions ? { dimensions } : {}) }) },
    log: {
      info: (message, fields) => logs.push({ level: 'info', message, fields }),
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
      error: (message, fields) => logs.push({ level: 'error', message, fields, error: fields?.error }),
    },
    limits: DEFAULT_TASK_LIMITS,
    transientBackoff: { baseSeconds: 2, capSeconds: 300, random },
    overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600, random },
    now: () => NOW,
  };
  return {
    deps,
    starts,
    startFailures,
    afterCreates,
    transfers,
    visibility,
    dlq,
    sentBack,
    faults,
    metrics,
    logs,
    linkAsRelated(value: boolean) {
      linkAsRelated = value;
    },
    metricNames: () => metrics.map((m) => m.name),
  };
}

/** A raw JSON record with String message attributes. */
function rawRecord(body: unknown, attributes: Record<string, string>, partial: SqsRecordInput = {}) {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [k, v] of Object.entries(attributes)) messageAttributes[k] = stringAttribute(v);
  return sqsRecord({ ...partial, body, messageAttributes });
}

function cloudEventRecord(): SQSRecord {
  const sample = readSample<{ body: unknown }>('messages/cloudevents.json');
  return sqsRecord({
    body: JSON.stringify(sample.body),
    messageAttributes: { tenant: stringAttribute('acme') },
  });
}

const bagBody = (
  custom: Record<string, unknown> = { plan: 'gold' },
  extra: Record<string, unknown> = {},
) => ({
  title: 'Call back Ada Example',
  details: 'Ada Example wants a refund',
  tier: 'vip',
  custom,
  ...extra,
});

function failureOf(message: OutgoingMessage | undefined): FailureRecord {
  const json = message?.MessageAttributes[FAILURE_ATTRIBUTE]?.StringValue;
  if (json === undefined) throw new Error('the DLQ message carries no failure record');
  return JSON.parse(json) as FailureRecord;
}

/** A message as Lambda would deliver it from a queue. */
function delivered(message: OutgoingMessage, messageId: string, receiveCount = 1): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [k, v] of Object.entries(message.MessageAttributes)) {
    messageAttributes[k] = toLambdaAttribute(fromSdkAttribute(v));
  }
  return sqsRecord({
    messageId,
    body: message.MessageBody,
    messageAttributes,
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  });
}

/** The DLQ message as the redrive would put it back on the ingest queue, as Lambda would deliver it. */
function replayRecord(message: OutgoingMessage, messageId: string, receiveCount = 1): SQSRecord {
  const read = readDlqMessage({ Body: message.MessageBody, MessageAttributes: message.MessageAttributes });
  const replay = toReplayMessage(read, { redriveCount: (read.failure?.redriveCount ?? 0) + 1 });
  return delivered(replay, messageId, receiveCount);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

function parked(outcome: RecordOutcome) {
  if (outcome.status !== 'parked') throw new Error(`expected parked, got ${outcome.status}`);
  return outcome;
}

// ---- outcomes ---------------------------------------------------------------------------------------

describe('processRecord outcomes', () => {
  it('creates a task for a CloudEvent with the rule token and records the ledger entry and transfer time', async () => {
    // Prepare
    const f = setup([sampleRule('crm-case.json')]);
    const token = taskClientToken(INSTANCE, 'com.example.crm', 'case-1001-opened');

    // Act
    const outcome = await processRecord(cloudEventRecord(), f.deps);

    // Assess
    expect(outcome).toEqual({
      status: 'created',
      contactId: 'contact-1',
      clientToken: token,
      ruleId: 'case-opened',
    });
    expect(f.starts).toHaveLength(1);
    expect(f.starts[0]).toMatchObject({
      clientToken: token,
      onChainLimit: 'related',
      request: {
        ClientToken: token,
        InstanceId: INSTANCE,
        Name: 'Case 1001: Customer cannot reset password',
      },
    });
    expect(f.afterCreates).toHaveLength(1);
    expect(f.afterCreates[0]?.entry).toEqual({
      clientToken: token,
      contactId: 'contact-1',
      instanceId: INSTANCE,
      source: 'com.example.crm',
      eventId: 'case-1001-opened',
      idempotencyKey: 'case-1001-opened',
      ruleId: 'case-opened',
      createdAt: NOW,
    });
    expect(f.afterCreates[0]?.transferAt).toBe(NOW + 2 * 3600 * 1000);
    expect(f.metricNames()).toEqual(['TasksCreated']);
    expect(f.dlq).toEqual([]);
  });

  it('reports a redelivered event as a duplicate and still records the ledger entry', async () => {
    // Prepare
    const f = setup([sampleRule('crm-case.json')]);
    await processRecord(cloudEventRecord(), f.deps);

    // Act
    const outcome = await processRecord(cloudEventRecord(), f.deps);

    // Assess
    expect(outcome).toMatchObject({ status: 'duplicate', contactId: 'contact-1' });
    expect(f.afterCreates).toHaveLength(2);
    expect(f.metricNames()).toEqual(['TasksCreated', 'DuplicatesSuppressed']);
  });

  it('drops an event matched by a drop rule without calling Connect', async () => {
    // Prepare
    const f = setup([sampleRule('monitoring-ok-drop.json'), sampleRule('monitoring-alarm.json')]);
    const body = { ...readSample<{ body: Record<string, unknown> }>('messages/eventbridge.json').body };
    body.detail = { alarmName: 'checkout-latency', state: { value: 'OK', reason: 'recovered' } };

    // Act
    const outcome = await processRecord(sqsRecord({ body }), f.deps);

    // Assess
    expect(outcome).toEqual({ status: 'dropped', ruleId: 'alarm-cleared-drop' });
    expect(f.starts).toEqual([]);
    expect(f.metrics).toEqual([{ name: 'Dropped', dimensions: { source: 'com.example.monitoring' } }]);
  });

  it('hands an event of a transfer rule to the transfer requester', async () => {
    // Prepare
    const transferRule = compile({
      source: 'xfer',
      ruleId: 'move-it',
      action: 'transfer',
      instanceId: INSTANCE,
      transferRequest: { targetKey: 'data.key', queueId: 'q-1', contactFlowId: FLOW },
    });
    const f = setup([transferRule]);

    // Act
    const outcome = await processRecord(
      rawRecord(
        { key: 'k-1' },
        { source: 'xfer', id: 'e-1' },
        { attributes: { ApproximateReceiveCount: '2' } },
      ),
      f.deps,
    );

    // Assess
    expect(outcome).toEqual({
      status: 'transfer-requested',
      contactId: 'contact-earlier',
      planId: 'plan-1',
      ruleId: 'move-it',
    });
    expect(f.transfers).toHaveLength(1);
    expect(f.transfers[0]?.receiveCount).toBe(2);
    expect(f.starts).toEqual([]);
  });

  it('counts a task linked by RelatedContactId after a full PreviousContactId chain', async () => {
    // Prepare
    const f = setup([bagRule()]);
    f.linkAsRelated(true);

    // Act
    const outcome = await processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), f.deps);

    // Assess
    expect(outcome.status).toBe('created');
    expect(f.metricNames()).toEqual(['LinkedAsRelated', 'TasksCreated']);
  });

  it('truncates a long description when the rule allows it, and says which field in the log', async () => {
    // Prepare
    const f = setup([bagRule({ options: { truncate: true } })]);
    const body = bagBody({}, { details: 'x'.repeat(5000) });

    // Act
    const outcome = await processRecord(rawRecord(body, { source: 'bag', id: 'e-1' }), f.deps);

    // Assess
    expect(outcome.status).toBe('created');
    expect(f.starts[0]?.request.Description).toHaveLength(DEFAULT_TASK_LIMITS.descriptionMaxLength);
    expect(f.metricNames()).toEqual(['Truncated', 'TasksCreated']);
    expect(f.logs.at(-1)?.fields.truncated).toEqual(['Description']);
  });
});

// ---- permanent failures -----------------------------------------------------------------------------

describe('processRecord parks permanent failures in the DLQ', () => {
  it('parks malformed JSON with the body byte-for-byte and the original attributes', async () => {
    // Prepare
    const f = setup([bagRule()]);
    const body = '{"title": "Ada Example", ';
    const record = rawRecord(body, { source: 'bag', id: 'e-1' });

    // Act
    const outcome = await processRecord(record, f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({ failureClass: 'PERMANENT', code: 'MalformedJson' });
    expect(f.dlq).toHaveLength(1);
    expect(f.dlq[0]?.MessageBody).toBe(body);
    expect(f.dlq[0]?.MessageAttributes.source).toEqual({ DataType: 'String', StringValue: 'bag' });
    expect(failureOf(f.dlq[0])).toMatchObject({
      class: 'PERMANENT',
      code: 'MalformedJson',
      attempts: 1,
      originalMessageId: record.messageId,
    });
    expect(f.starts).toEqual([]);
    expect(f.metrics).toEqual([{ name: 'Permanent', dimensions: { code: 'MalformedJson' } }]);
  });

  it('parks an event of a source without rules as NoMatchingRule naming the source', async () => {
    // Prepare
    const f = setup([bagRule()]);

    // Act
    const outcome = await processRecord(rawRecord(bagBody(), { source: 'nobody', id: 'e-1' }), f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({ code: 'NoMatchingRule', reason: 'no rules for source "nobody"' });
    expect(failureOf(f.dlq[0])).toMatchObject({ source: 'nobody', eventId: 'e-1' });
  });

  it('parks an event no rule of its source matches, naming the event type', async () => {
    // Prepare
    const f = setup([sampleRule('crm-case.json')]);
    const sample = readSample<{ body: Record<string, unknown> }>('messages/cloudevents.json');
    const body = { ...sample.body, type: 'com.example.crm.case.closed' };

    // Act
    const outcome = await processRecord(sqsRecord({ body }), f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({
      code: 'NoMatchingRule',
      reason: 'no enabled rule of source "com.example.crm" matches event type "com.example.crm.case.closed"',
    });
  });

  it('parks an event whose rule names an instance outside the stage list as InstanceNotAllowed, calling nothing', async () => {
    // Prepare
    const f = setup([bagRule()]);
    const deps = { ...f.deps, allowedInstanceIds: ['99999999-0000-4000-8000-000000000001'] };

    // Act
    const outcome = await processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), deps);
    const allowed = await processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-2' }), {
      ...f.deps,
      allowedInstanceIds: ['99999999-0000-4000-8000-000000000001', INSTANCE],
    });

    // Assess
    expect(parked(outcome)).toMatchObject({ failureClass: 'PERMANENT', code: 'InstanceNotAllowed' });
    expect(parked(outcome).reason).toBe(
      `rule bag-rule: instance ${INSTANCE} is not one of the stage's Connect instances (connectInstanceIds: 99999999-0000-4000-8000-000000000001)`,
    );
    expect(failureOf(f.dlq[0])).toMatchObject({ ruleId: 'bag-rule', code: 'InstanceNotAllowed' });
    expect(f.starts.map((s) => s.clientToken)).toHaveLength(1);
    expect(allowed.status).toBe('created');
  });

  it('parks a mapping failure as MappingFailed naming the rule field', async () => {
    // Prepare
    const f = setup([bagRule()]);

    // Act
    const outcome = await processRecord(
      rawRecord(bagBody(['not', 'an', 'object'] as unknown as Record<string, unknown>), {
        source: 'bag',
        id: 'e-1',
      }),
      f.deps,
    );

    // Assess
    expect(parked(outcome)).toMatchObject({ failureClass: 'PERMANENT', code: 'MappingFailed' });
    expect(parked(outcome).reason).toMatch(/^mapping\.attributesFrom produced an array of 3 items; /);
    expect(failureOf(f.dlq[0])).toMatchObject({ ruleId: 'bag-rule', code: 'MappingFailed' });
    expect(f.starts).toEqual([]);
  });

  it('parks an attributesFrom key outside the Connect pattern as ValidationFailed naming the key and the pattern', async () => {
    // Prepare
    const f = setup([bagRule()]);
    const token = taskClientToken(INSTANCE, 'bag', 'e-1');

    // Act
    const outcome = await processRecord(
      rawRecord(bagBody({ 'order id': 'A-1', fine: 'ok' }), { source: 'bag', id: 'e-1' }),
      f.deps,
    );

    // Assess
    expect(parked(outcome)).toEqual({
      status: 'parked',
      failureClass: 'PERMANENT',
      code: 'ValidationFailed',
      reason:
        'Attributes.order id: attribute keys can include only alphanumeric, dash, and underscore characters',
    });
    expect(failureOf(f.dlq[0])).toMatchObject({ clientToken: token, ruleId: 'bag-rule' });
    expect(f.starts).toEqual([]);
  });

  it('parks a ScheduledTime in the past as ValidationFailed', async () => {
    // Prepare
    const f = setup([bagRule()]);

    // Act
    const outcome = await processRecord(
      rawRecord(bagBody({}, { dueAt: NOW - 3600_000 }), { source: 'bag', id: 'e-1' }),
      f.deps,
    );

    // Assess
    expect(parked(outcome).reason).toBe(
      'ScheduledTime: 3600 seconds in the past; the scheduled time cannot be in the past',
    );
  });

  it('parks an event whose rule targets an INACTIVE task template', async () => {
    // Prepare
    const f = setup([sampleRule('returns-inactive.json')]);

    // Act
    const outcome = await processRecord(
      rawRecord({ returnId: 'R-9' }, { source: 'com.example.returns', id: 'ret-9' }),
      f.deps,
    );

    // Assess
    expect(parked(outcome)).toMatchObject({ code: 'ValidationFailed' });
    expect(parked(outcome).reason).toMatch(/task template is INACTIVE/);
    expect(f.starts).toEqual([]);
  });

  it('parks an event whose rule match expression fails as RuleEvaluationFailed', async () => {
    // Prepare
    const broken = bagRule({ match: 'data.n + 1 > 0' });
    const f = setup([broken]);

    // Act
    const outcome = await processRecord(rawRecord({ n: 'text' }, { source: 'bag', id: 'e-1' }), f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({ failureClass: 'PERMANENT', code: 'RuleEvaluationFailed' });
    expect(parked(outcome).reason).toMatch(/^rule "bag-rule" \(bag\) match: JSONata T2001/);
  });

  it('parks a Connect 400 as PERMANENT with the exception name as code', async () => {
    // Prepare
    const f = setup([bagRule()]);
    f.startFailures.push(connectError(InvalidParameterException, 'ContactFlowId is not valid', 400));

    // Act
    const outcome = await processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({
      failureClass: 'PERMANENT',
      code: 'InvalidParameterException',
      reason: 'ContactFlowId is not valid',
    });
    expect(f.afterCreates).toEqual([]);
  });
});

// ---- over quota -------------------------------------------------------------------------------------

describe('processRecord parks over-quota failures for the redrive', () => {
  it('parks a 402 as OVER_QUOTA with nextAttemptAt from the backoff and the ClientToken', async () => {
    // Prepare
    const f = setup([bagRule()], { random: () => 0 });
    f.startFailures.push(connectError(ServiceQuotaExceededException, 'quota', 402));

    // Act
    const outcome = await processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), f.deps);

    // Assess
    expect(parked(outcome)).toMatchObject({
      failureClass: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
    });
    expect(failureOf(f.dlq[0])).toMatchObject({
      class: 'OVER_QUOTA',
      attempts: 1,
      clientToken: taskClientToken(INSTANCE, 'bag', 'e-1'),
      nextAttemptAt: new Date(NOW + 60_000).toISOString(),
    });
    expect(f.metrics).toEqual([{ name: 'OverQuota', dimensions: { code: 'ServiceQuotaExceededException' } }]);
    expect(f.logs.at(-1)?.fields.nextAttemptAt).toBe(new Date(NOW + 60_000).toISOString());
  });

  it('keeps the identity and ClientToken of a raw event without id across a DLQ round trip', async () => {
    // Prepare
    const f = setup([bagRule()], { random: () => 0.999 });
    f.startFailures.push(connectError(ServiceQuotaExceededException, 'quota', 402));
    const first = rawRecord(bagBody(), { source: 'bag' }, { messageId: 'sqs-first' });
    await processRecord(first, f.deps);
    const parkedMessage = f.dlq[0];
    if (!parkedMessage) throw new Error('expected the first delivery in the DLQ');
    f.startFailures.push(connectError(ServiceQuotaExceededException, 'quota', 402));

    // Act
    await processRecord(replayRecord(parkedMessage, 'sqs-replay-1'), f.deps);
    const again = f.dlq[1];
    if (!again) throw new Error('expected the replay in the DLQ');
    const created = await processRecord(replayRecord(again, 'sqs-replay-2'), f.deps);

    // Assess
    const token = taskClientToken(INSTANCE, 'bag', 'sqs-first');
    expect(f.starts.map((s) => s.clientToken)).toEqual([token, token, token]);
    expect(created).toMatchObject({ status: 'created', clientToken: token });
    const second = failureOf(again);
    expect(second).toMatchObject({
      attempts: 2,
      redriveCount: 1,
      eventId: 'sqs-first',
      originalMessageId: 'sqs-first',
      firstFailureAt: new Date(NOW).toISOString(),
    });
    // attempts 2: the window is [60 s, 240 s]; random 0.999 takes its top.
    expect(second.nextAttemptAt).toBe(new Date(NOW + 240_000).toISOString());
    expect(f.afterCreates[0]?.entry.eventId).toBe('sqs-first');
  });
});

// ---- transient failures and failed parking ----------------------------------------------------------

describe('processRecord retries transient failures in place', () => {
  it('pushes a throttled record out by the backoff of its receive count and reports it not done', async () => {
    // Prepare
    const f = setup([bagRule()], { random: () => 0.999 });
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));
    const record = rawRecord(
      bagBody(),
      { source: 'bag', id: 'e-1' },
      { attributes: { ApproximateReceiveCount: '3' } },
    );

    // Act
    const error = await rejection(processRecord(record, f.deps));

    // Assess
    expect(error).toBeInstanceOf(RecordNotDoneError);
    expect(error).toMatchObject({ failureClass: 'TRANSIENT', code: 'ThrottlingException' });
    // receive 3: the window is [0, 2 · 2²] = [0, 8] seconds; random 0.999 takes its top.
    expect(f.visibility).toEqual([{ receiptHandle: record.receiptHandle, seconds: 8 }]);
    expect(f.dlq).toEqual([]);
    expect(f.metrics).toEqual([{ name: 'Transient', dimensions: { code: 'ThrottlingException' } }]);
  });

  it('treats an unrecognised error as transient', async () => {
    // Prepare
    const f = setup([bagRule()]);
    f.startFailures.push(new Error('something odd'));

    // Act
    const error = await rejection(processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), f.deps));

    // Assess
    expect(error).toMatchObject({ failureClass: 'TRANSIENT', code: 'UnknownError' });
    expect(f.visibility).toHaveLength(1);
  });

  it('parks a transient failure as TRANSIENT with a redrive nextAttemptAt from two receives before maxReceiveCount, and retries it before', async () => {
    // Prepare: the queue allows 8 receives; the parking receive is the 6th.
    const f = setup([bagRule()]);
    const deps = {
      ...f.deps,
      maxReceiveCount: 8,
      transientRedriveBackoff: { baseSeconds: 300, capSeconds: 3600, random: () => 0 },
    };
    const onReceive = (n: number) =>
      rawRecord(
        bagBody(),
        { source: 'bag', id: 'e-1' },
        { attributes: { ApproximateReceiveCount: String(n) } },
      );
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));

    // Act
    const fifth = await rejection(processRecord(onReceive(5), deps));
    const sixth = await processRecord(onReceive(6), deps);

    // Assess: retried in place on the 5th, parked with its reason on the 6th.
    expect(fifth).toMatchObject({ failureClass: 'TRANSIENT', code: 'ThrottlingException' });
    expect(parked(sixth)).toMatchObject({ failureClass: 'TRANSIENT', code: 'ThrottlingException' });
    expect(f.dlq).toHaveLength(1);
    expect(failureOf(f.dlq[0])).toMatchObject({
      class: 'TRANSIENT',
      code: 'ThrottlingException',
      // The first redrive round: the base of the redrive's transient backoff after now.
      nextAttemptAt: new Date(NOW + 300_000).toISOString(),
    });
    expect(failureOf(f.dlq[0])?.message).toMatch(/^retried in place 6 times \(maxReceiveCount 8\)/);
  });

  it('still reports the record not done when the visibility change fails, logging the error', async () => {
    // Prepare
    const f = setup([bagRule()]);
    f.faults.visibility = true;
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));

    // Act
    const error = await rejection(processRecord(rawRecord(bagBody(), { source: 'bag', id: 'e-1' }), f.deps));

    // Assess
    expect(error).toBeInstanceOf(RecordNotDoneError);
    const logged = f.logs.find((l) => l.level === 'error');
    expect(logged?.message).toBe('ChangeMessageVisibility failed');
    expect(logged?.error).toBeInstanceOf(Error);
  });

  it('reports the record not done when the DLQ send fails, so SQS keeps the message', async () => {
    // Prepare
    const f = setup([bagRule()]);
    f.faults.dlq = true;

    // Act
    const error = await rejection(processRecord(rawRecord('{"broken', { source: 'bag', id: 'e-1' }), f.deps));

    // Assess
    expect(error).toBeInstanceOf(RecordNotDoneError);
    expect(error).toMatchObject({ failureClass: 'PERMANENT', code: 'DlqSendFailed' });
    expect(f.dlq).toEqual([]);
    expect(f.logs.find((l) => l.level === 'error')?.error).toBeInstanceOf(Error);
  });
});

// ---- logs -------------------------------------------------------------------------------------------

describe('processRecord logs', () => {
  it('never carry attribute values, task names or descriptions, whatever the outcome', async () => {
    // Prepare: every piece of task content carries a marker that must never reach a log line.
    const marker = 'SECRET-7f3a';
    const f = setup([bagRule({ options: { truncate: true } })]);
    const content = (extra: Record<string, unknown> = {}) =>
      bagBody(
        { plan: `${marker}-plan`, extra: `${marker}-value` },
        {
          title: `${marker} name`,
          details: `${marker} description ${'y'.repeat(5000)}`,
          tier: `${marker}-tier`,
          ...extra,
        },
      );
    const records = [
      rawRecord(content(), { source: 'bag', id: 'e-created' }),
      rawRecord(content(), { source: 'bag', id: 'e-created' }),
      rawRecord(content({ dueAt: NOW - 1000 }), { source: 'bag', id: 'e-past' }),
      rawRecord(content({ custom: { 'bad key': `${marker}-v` } }), {
        source: 'bag',
        id: 'e-badkey',
      }),
      rawRecord(content({ custom: `${marker}-not-an-object` }), { source: 'bag', id: 'e-mapping' }),
      rawRecord(`{"title":"${marker}"`, { source: 'bag', id: 'e-malformed' }),
      rawRecord(content(), { source: 'other', id: 'e-norule' }),
      rawRecord(content(), { source: 'bag', id: 'e-quota' }),
      rawRecord(content(), { source: 'bag', id: 'e-throttled' }),
    ];

    // Act
    const outcomes: string[] = [];
    for (const record of records) {
      const id = record.messageAttributes.id?.stringValue;
      if (id === 'e-quota') f.startFailures.push(connectError(ServiceQuotaExceededException, 'quota', 402));
      if (id === 'e-throttled') f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));
      const outcome = await processRecord(record, f.deps).then(
        (o) => (o.status === 'parked' ? `parked:${o.code}` : o.status),
        () => 'retry',
      );
      outcomes.push(outcome);
    }

    // Assess: every path ran, and no log line (message or fields) carries task content.
    expect(outcomes).toEqual([
      'created',
      'duplicate',
      'parked:ValidationFailed',
      'parked:ValidationFailed',
      'parked:MappingFailed',
      'parked:MalformedJson',
      'parked:NoMatchingRule',
      'parked:ServiceQuotaExceededException',
      'retry',
    ]);
    expect(f.logs.length).toBeGreaterThanOrEqual(records.length);
    for (const line of f.logs) {
      expect(JSON.stringify({ message: line.message, fields: line.fields })).not.toContain(marker);
    }
  });
});

// ---- the invocation's time and the receive accounting ------------------------------------------------

/** An invocation with `remainingMs` left, keeping `marginMs` back. */
const invocationWith = (remainingMs: number, marginMs = 10_000): Deadline => ({
  remainingMs: () => remainingMs,
  marginMs,
});

/** The copy a record was sent back as (the last one), as Lambda delivers it from its queue. */
function copyDelivered(f: ReturnType<typeof setup>, messageId: string, receiveCount = 1): SQSRecord {
  const back = f.sentBack.at(-1);
  if (!back) throw new Error('nothing was sent back');
  return delivered(back.message, messageId, receiveCount);
}

describe('processRecord within the invocation’s time', () => {
  it('does not start a record with less than the margin left: sends it back within seconds as a copy, calling nothing', async () => {
    // Prepare: its third receive (two failed attempts before), 9 s left of which 10 s are kept back.
    const f = setup([bagRule()]);
    const record = rawRecord(
      bagBody(),
      { source: 'bag', id: 'e-1' },
      { attributes: { ApproximateReceiveCount: '3' } },
    );

    // Act
    const outcome = await processRecord(record, { ...f.deps, maxReceiveCount: 8 }, invocationWith(9_000));

    // Assess: a copy with the same body, back in a few seconds, carrying the two attempts and nothing more.
    expect(outcome).toMatchObject({ status: 'returned', code: 'NotAttempted' });
    expect(f.starts).toEqual([]);
    expect(f.visibility).toEqual([]);
    expect(f.dlq).toEqual([]);
    expect(f.sentBack).toHaveLength(1);
    const [back] = f.sentBack;
    expect(back?.lane).toBe('normal');
    expect(back?.delaySeconds).toBeGreaterThanOrEqual(1);
    expect(back?.delaySeconds).toBeLessThanOrEqual(5);
    expect(back?.message.MessageBody).toBe(record.body);
    expect(failureOf(back?.message)).toMatchObject({
      class: 'TRANSIENT',
      code: 'NotAttempted',
      attempts: 0,
      // Not parsed yet: the first message id stands in, as on any DLQ trip (the id attribute still wins).
      eventId: record.messageId,
      originalMessageId: record.messageId,
      inPlace: { attempts: 2, taskWaits: 0 },
    });
    expect(f.metricNames()).toContain('NotAttempted');
  });

  it('never counts a record its budget slot would come too late for, however often it comes back, and parks it only on its counted attempt', async () => {
    // Prepare: the queue allows 8 receives (parked on the 6th counted attempt); the record arrives on
    // its 5th receive, and then its budget slot is too late 20 times in a row.
    const f = setup([bagRule()]);
    const deps = { ...f.deps, maxReceiveCount: 8 };
    let record = rawRecord(
      bagBody(),
      { source: 'bag', id: 'e-2' },
      { attributes: { ApproximateReceiveCount: '5' } },
    );
    const outcomes: RecordOutcome[] = [];

    // Act
    for (let i = 0; i < 20; i += 1) {
      f.startFailures.push(new DeadlineError('a budget slot', 30_000, 5_000));
      outcomes.push(await processRecord(record, deps));
      record = copyDelivered(f, `copy-${i}`);
    }
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));
    const fifth = await rejection(processRecord(record, deps));
    f.startFailures.push(connectError(ThrottlingException, 'Rate exceeded', 429));
    const sixth = await processRecord(copyDelivered(f, 'copy-19', 2), deps);

    // Assess: 20 copies, none counted, nothing parked; then attempts 5 and 6 are counted.
    expect(outcomes.every((o) => o.status === 'returned')).toBe(true);
    expect(failureOf(f.sentBack.at(-1)?.message).inPlace).toEqual({ attempts: 4, taskWaits: 0 });
    expect(fifth).toBeInstanceOf(RecordNotDoneError);
    expect(parked(sixth)).toMatchObject({ failureClass: 'TRANSIENT', code: 'ThrottlingException' });
    expect(f.dlq).toHaveLength(1);
  });
});

describe('processRecord keeps the wait for a create apart from its retries', () => {
  /** The update rule of the CRM sample, and a lifecycle that answers from `answers`, recording its input. */
  function lifecycleSetup(answers: unknown[]) {
    const f = setup([sampleRule('crm-case.json'), sampleRule('crm-case-updated.json')]);
    const inputs: Array<Parameters<LifecycleApplier>[0]> = [];
    const lifecycle: LifecycleApplier = async (input) => {
      inputs.push(input);
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return { status: 'updated', contactId: 'contact-1', clientToken: 'token-1', truncated: [] };
    };
    return { f, inputs, deps: { ...f.deps, lifecycle, maxReceiveCount: 10 } };
  }

  const updateRecord = () => {
    const sample = readSample<{ body: unknown }>('messages/crm-case-updated.json');
    return sqsRecord({ messageId: 'first-delivery', body: JSON.stringify(sample.body) });
  };
  const dynamoDb500 = () =>
    Object.assign(new Error('Internal server error'), {
      name: 'InternalServerError',
      $metadata: { httpStatusCode: 500 },
    });

  it('sends an update back to wait for its create, counting its waits and not its attempts, so the retries after it are whole', async () => {
    // Prepare: six waits for the create, then seven DynamoDB 500s, then success.
    const taskNotFound = () => new IngestRetryError('TaskNotFound', 'no task recorded for this update');
    const answers: unknown[] = [
      ...Array.from({ length: 6 }, taskNotFound),
      ...Array.from({ length: 7 }, dynamoDb500),
      'ok',
    ];
    const { f, inputs, deps } = lifecycleSetup(answers);

    // Act: each wait comes back as a copy; the failures retry in place (the copy's receive count rises).
    let record = updateRecord();
    const waits: RecordOutcome[] = [];
    for (let i = 0; i < 6; i += 1) {
      waits.push(await processRecord(record, deps));
      record = copyDelivered(f, `copy-${i}`);
    }
    const retries: unknown[] = [];
    for (let receive = 1; receive <= 7; receive += 1) {
      retries.push(await rejection(processRecord(copyDelivered(f, 'copy-5', receive), deps)));
    }
    const done = await processRecord(copyDelivered(f, 'copy-5', 8), deps);

    // Assess: six waits sent back (delayed by the backoff of their count), seven retries in place,
    // then applied on the eighth receive of the last copy, where a receive-counted wait would have parked it.
    expect(waits.map((o) => o.status)).toEqual(Array.from({ length: 6 }, () => 'returned'));
    expect(failureOf(f.sentBack.at(-1)?.message).inPlace).toEqual({ attempts: 0, taskWaits: 6 });
    expect(retries.every((e) => e instanceof RecordNotDoneError)).toBe(true);
    expect(done).toMatchObject({ status: 'updated' });
    expect(f.dlq).toEqual([]);
    expect(inputs.map((i) => i.taskWaitsBefore)).toEqual([0, 1, 2, 3, 4, 5, ...Array(8).fill(6)]);
    // Every copy is the same delivery: it may take back a lease its earlier attempt left.
    expect(new Set(inputs.map((i) => i.deliveryId))).toEqual(new Set(['first-delivery']));
  });
});
