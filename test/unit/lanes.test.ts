/**
 * Priority lanes without a network: queue name ↔ lane, the lane decision (forward or process here),
 * the rule option `lane`, processRecord's forwarding and lane-aware failure routing, the lane in the
 * failure record, and the redrive sending each message back to its lane's queue.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import { decideLane, EVENT_ID_ATTRIBUTE, laneOfRecord } from '#lib/ingest/lane.ts';
import type { StartTaskCall } from '#lib/ingest/ports.ts';
import { type IngestDeps, processRecord } from '#lib/ingest/process-record.ts';
import { type Lane, laneOfQueue, laneOfQueueName, laneQueueName, queueNameOf } from '#lib/lanes.ts';
import type { LogFields } from '#lib/observability/logger.ts';
import { type RedriveDeps, runRedrive } from '#lib/redrive/redrive.ts';
import {
  buildDlqMessage,
  fromSdkAttribute,
  type OutgoingMessage,
  readDlqMessage,
  toLambdaAttribute,
} from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE, type FailureRecord } from '#lib/retry/failure-record.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { binaryAttribute, sqsRecord, stringAttribute } from '#test/support/lambda.ts';
import { createInMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';
const ARN = 'arn:aws:sqs:us-east-1:000000000000:connect-task-ingest-dev-ingest';
const QUEUE_ARNS: Record<Lane, string> = { urgent: `${ARN}-urgent`, normal: ARN, bulk: `${ARN}-bulk` };

function rule(options: Record<string, unknown> = {}) {
  return {
    source: 'orders',
    ruleId: 'order-delayed',
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: { name: "'Delayed order ' & data.orderId", description: 'data.secret' },
    ...(Object.keys(options).length ? { options } : {}),
  };
}

function compiled(options: Record<string, unknown> = {}): CompiledRule {
  const result = validateRule(rule(options));
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

/** A raw JSON order event of source `orders`, in `lane`'s queue. */
function orderRecord(
  lane: Lane,
  attributes: Record<string, string> = { id: 'order-1' },
  extra: SQSMessageAttributes = {},
): SQSRecord {
  const messageAttributes: SQSMessageAttributes = { ...extra };
  for (const [k, v] of Object.entries({ source: 'orders', ...attributes }))
    messageAttributes[k] = stringAttribute(v);
  return sqsRecord({
    eventSourceARN: QUEUE_ARNS[lane],
    body: { orderId: 'O-1', secret: 'customer writes: my card 4111' },
    messageAttributes,
  });
}

/** The record a lane queue delivers for a message sent there. */
function delivered(lane: Lane, message: OutgoingMessage): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [k, v] of Object.entries(message.MessageAttributes)) {
    messageAttributes[k] = toLambdaAttribute(fromSdkAttribute(v));
  }
  return sqsRecord({ eventSourceARN: QUEUE_ARNS[lane], body: message.MessageBody, messageAttributes });
}

function setup(rules: CompiledRule[], options: { lanes?: Lane[]; forwardFails?: boolean } = {}) {
  const starts: StartTaskCall[] = [];
  const forwards: Array<{ lane: Lane; message: OutgoingMessage }> = [];
  const visibility: Array<{ seconds: number; lane?: Lane }> = [];
  const dlq: OutgoingMessage[] = [];
  const logs: Array<{ message: string; fields: LogFields }> = [];
  const metrics: string[] = [];
  const tokens = new Map<string, string>();
  const deps: IngestDeps = {
    rules: { rulesFor: async (source) => rules.filter((r) => r.rule.source === source) },
    templates: {
      get: async () => {
        throw new Error('no templates here');
      },
    },
    startTask: async (call) => {
      starts.push(call);
      const known = tokens.get(call.clientToken);
      if (known) return { contactId: known, duplicate: true, linkedAsRelated: false };
      tokens.set(call.clientToken, `contact-${tokens.size + 1}`);
      return { contactId: `contact-${tokens.size}`, duplicate: false, linkedAsRelated: false };
    },
    queue: {
      async changeVisibility(_receiptHandle, seconds, lane) {
        visibility.push({ seconds, ...(lane ? { lane } : {}) });
      },
      async sendToDlq(message) {
        dlq.push(message);
        return { messageId: `dlq-${dlq.length}` };
      },
      async sendBack() {
        throw new Error('nothing is sent back in these tests');
      },
      lanes: options.lanes ?? ['urgent', 'normal', 'bulk'],
      async forward(lane, message) {
        if (options.forwardFails) {
          throw Object.assign(new Error('SQS is unavailable'), {
            name: 'ServiceUnavailable',
            $metadata: { httpStatusCode: 503 },
          });
        }
        forwards.push({ lane, message });
      },
    },
    afterCreate: async () => {},
    lifecycle: async () => {
      throw new Error('no update/complete rules in this test');
    },
    requestTransfer: async () => ({ contactId: 'c', planId: 'p', scheduled: 'created' }),
    metrics: { count: (name) => metrics.push(name) },
    log: {
      info: (message, fields) => logs.push({ message, fields }),
      warn: (message, fields) => logs.push({ message, fields }),
      error: (message, fields) => logs.push({ message, fields }),
    },
    limits: DEFAULT_TASK_LIMITS,
    transientBackoff: { baseSeconds: 2, capSeconds: 300, random: () => 0.5 },
    overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600, random: () => 0.5 },
    maxReceiveCount: 8,
    now: () => NOW,
  };
  return { deps, starts, forwards, visibility, dlq, logs, metrics };
}

function failureOf(message: OutgoingMessage | undefined): FailureRecord {
  const read = readDlqMessage({ Body: message?.MessageBody, MessageAttributes: message?.MessageAttributes });
  if (!read.failure) throw new Error(`no failure record: ${read.problem}`);
  return read.failure;
}

describe('lanes and queue names', () => {
  it('names the urgent and bulk queues after the ingest queue, which is the normal lane', () => {
    expect(laneQueueName('svc-prod-ingest', 'normal')).toBe('svc-prod-ingest');
    expect(laneQueueName('svc-prod-ingest', 'urgent')).toBe('svc-prod-ingest-urgent');
    expect(laneQueueName('svc-prod-ingest', 'bulk')).toBe('svc-prod-ingest-bulk');
  });

  it('reads the lane back from a queue name, ARN or URL; any other queue is the normal lane', () => {
    expect(laneOfQueueName('svc-prod-ingest-urgent')).toBe('urgent');
    expect(laneOfQueueName('svc-prod-ingest-bulk')).toBe('bulk');
    expect(laneOfQueueName('svc-prod-ingest')).toBe('normal');
    expect(laneOfQueueName('some-other-queue')).toBe('normal');
    expect(laneOfQueue(QUEUE_ARNS.urgent)).toBe('urgent');
    expect(laneOfQueue('http://127.0.0.1:4566/000000000000/svc-local-ingest-bulk')).toBe('bulk');
    expect(queueNameOf('https://sqs.eu-west-1.amazonaws.com/123/svc-prod-ingest')).toBe('svc-prod-ingest');
    expect(laneOfQueue(undefined)).toBe('normal');
    expect(laneOfRecord(orderRecord('bulk'))).toBe('bulk');
  });
});

describe('the rule option lane', () => {
  it.each(['urgent', 'normal', 'bulk'])('accepts lane %s', (lane) => {
    const result = validateRule(rule({ lane }));
    expect(result.ok).toBe(true);
    if (result.ok && result.rule.action === 'create') expect(result.rule.options.lane).toBe(lane);
  });

  it('leaves the lane unset when the rule names none (the event keeps the lane it arrived in)', () => {
    const result = validateRule(rule());
    expect(result.ok && result.rule.action === 'create' && result.rule.options).toEqual({
      truncate: false,
      onChainLimit: 'park',
    });
  });

  it.each([['fast'], ['URGENT'], [1], [null]])(
    'refuses lane %j with the path and the lanes it allows',
    (lane) => {
      const result = validateRule(rule({ lane }));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatch(/^options\.lane: .*"urgent".*"normal".*"bulk"/);
    },
  );
});

describe('decideLane', () => {
  const envelope = { kind: 'cloudevents' as const, id: 'evt-1' };

  it('processes a record in the lane it arrived in when the rule names no lane, or the same one', () => {
    const record = orderRecord('urgent');
    expect(decideLane({ record, envelope, ruleLane: undefined, reachable: () => true })).toEqual({
      kind: 'here',
      lane: 'urgent',
    });
    expect(decideLane({ record, envelope, ruleLane: 'urgent', reachable: () => true })).toEqual({
      kind: 'here',
      lane: 'urgent',
    });
  });

  it("forwards to the rule's lane with the body and every attribute unchanged, binary and service ones included", () => {
    // Prepare
    const record = orderRecord(
      'normal',
      { id: 'order-1' },
      {
        blob: binaryAttribute(Buffer.from([0, 1, 2, 255])),
        [FAILURE_ATTRIBUTE]: stringAttribute('{"v":1}'),
      },
    );

    // Act
    const decision = decideLane({ record, envelope, ruleLane: 'bulk', reachable: () => true });

    // Assess
    expect(decision).toMatchObject({ kind: 'forward', from: 'normal', to: 'bulk' });
    if (decision.kind !== 'forward') return;
    expect(decision.message.MessageBody).toBe(record.body);
    const sent = decision.message.MessageAttributes;
    expect(Object.keys(sent).sort()).toEqual(['blob', FAILURE_ATTRIBUTE, 'id', 'source'].sort());
    expect(Buffer.from(sent.blob?.BinaryValue as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(sent[FAILURE_ATTRIBUTE]).toEqual({ DataType: 'String', StringValue: '{"v":1}' });
  });

  it('stamps the event id on a raw message known only by its SQS message id', () => {
    // Prepare
    const record = orderRecord('normal', {});

    // Act
    const decision = decideLane({
      record,
      envelope: { kind: 'raw', id: record.messageId },
      ruleLane: 'urgent',
      reachable: () => true,
    });

    // Assess
    expect(decision.kind === 'forward' && decision.message.MessageAttributes[EVENT_ID_ATTRIBUTE]).toEqual({
      DataType: 'String',
      StringValue: record.messageId,
    });
  });

  it('stays in the arrival lane, with the reason, when the target lane has no queue', () => {
    expect(
      decideLane({ record: orderRecord('normal'), envelope, ruleLane: 'bulk', reachable: () => false }),
    ).toEqual({
      kind: 'here',
      lane: 'normal',
      reason: 'no queue configured for lane bulk',
    });
  });

  it('stays in the arrival lane when a raw message without an id has no attribute slot left for it', () => {
    // Prepare: source + 9 more attributes = the 10 SQS allows.
    const attributes = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`a${i}`, 'x']));
    const record = orderRecord('normal', attributes);

    // Act
    const decision = decideLane({
      record,
      envelope: { kind: 'raw', id: record.messageId },
      ruleLane: 'bulk',
      reachable: () => true,
    });

    // Assess
    expect(decision).toMatchObject({ kind: 'here', lane: 'normal', reason: expect.stringMatching(/slot/) });
  });
});

describe('processRecord with lanes', () => {
  it("forwards an event to its rule's lane instead of starting the task, and never logs contents", async () => {
    // Prepare
    const w = setup([compiled({ lane: 'bulk' })]);
    const record = orderRecord('normal');

    // Act
    const outcome = await processRecord(record, w.deps);

    // Assess
    expect(outcome).toEqual({ status: 'forwarded', from: 'normal', lane: 'bulk', ruleId: 'order-delayed' });
    expect(w.starts).toEqual([]);
    expect(w.forwards.map((f) => f.lane)).toEqual(['bulk']);
    expect(w.forwards[0]?.message.MessageBody).toBe(record.body);
    expect(w.metrics).toEqual(['Forwarded']);
    expect(w.logs).toEqual([
      {
        message: "event forwarded to its rule's lane",
        fields: {
          source: 'orders',
          eventId: 'order-1',
          ruleId: 'order-delayed',
          lane: 'normal',
          toLane: 'bulk',
        },
      },
    ]);
    expect(JSON.stringify(w.logs)).not.toContain('4111');
  });

  it("starts the task in the rule's lane once the forwarded copy arrives there, with the same ClientToken", async () => {
    // Prepare: a raw message without an id, known by its SQS message id.
    const w = setup([compiled({ lane: 'urgent' })]);
    const original = orderRecord('normal', {});
    await processRecord(original, w.deps);
    const copy = delivered('urgent', w.forwards[0]?.message as OutgoingMessage);
    const duplicateCopy = delivered('urgent', w.forwards[0]?.message as OutgoingMessage);

    // Act
    const first = await processRecord(copy, w.deps);
    const second = await processRecord(duplicateCopy, w.deps);

    // Assess
    expect(copy.messageId).not.toBe(original.messageId);
    expect(first).toMatchObject({ status: 'created' });
    expect(second).toMatchObject({ status: 'duplicate' });
    expect(w.starts.map((s) => s.lane)).toEqual(['urgent', 'urgent']);
    expect(new Set(w.starts.map((s) => s.clientToken)).size).toBe(1);
  });

  it('starts a task in the lane of its queue when the rule names none', async () => {
    const w = setup([compiled()]);
    await processRecord(orderRecord('bulk'), w.deps);
    expect(w.forwards).toEqual([]);
    expect(w.starts.map((s) => s.lane)).toEqual(['bulk']);
  });

  it("processes here, with a warning naming both lanes, when the rule's lane is unreachable", async () => {
    const w = setup([compiled({ lane: 'bulk' })], { lanes: [] });
    await processRecord(orderRecord('urgent'), w.deps);
    expect(w.starts.map((s) => s.lane)).toEqual(['urgent']);
    expect(w.logs[0]?.fields).toMatchObject({
      lane: 'urgent',
      toLane: 'bulk',
      reason: 'no queue configured for lane bulk',
    });
  });

  it('retries a failed forward in place on the queue it came from (TRANSIENT), losing nothing', async () => {
    // Prepare
    const w = setup([compiled({ lane: 'bulk' })], { forwardFails: true });

    // Act
    const error = await processRecord(orderRecord('urgent'), w.deps).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(RecordNotDoneError);
    expect(error).toMatchObject({ failureClass: 'TRANSIENT' });
    expect(w.visibility).toEqual([{ seconds: expect.any(Number), lane: 'urgent' }]);
    expect(w.starts).toEqual([]);
    expect(w.dlq).toEqual([]);
  });

  it('records the lane the message was in when it parks it, and keeps it through a replay', async () => {
    // Prepare: no rule for the source: PERMANENT NoMatchingRule.
    const w = setup([]);

    // Act
    await processRecord(orderRecord('urgent'), w.deps);
    const replayed = delivered('urgent', w.dlq[0] as OutgoingMessage);
    await processRecord(replayed, w.deps);

    // Assess
    expect(failureOf(w.dlq[0])).toMatchObject({ class: 'PERMANENT', code: 'NoMatchingRule', lane: 'urgent' });
    expect(failureOf(w.dlq[1])).toMatchObject({ attempts: 2, lane: 'urgent' });
  });
});

describe('the lane in the failure record', () => {
  const failure = { class: 'OVER_QUOTA' as const, code: 'ServiceQuotaExceededException', message: 'quota' };
  const build = (input: { lane?: Lane; previous?: FailureRecord }) =>
    buildDlqMessage({
      body: '{}',
      attributes: {},
      messageId: 'm-1',
      failure: { ...failure, ...(input.lane ? { lane: input.lane } : {}) },
      now: NOW,
      ...(input.previous ? { previous: input.previous } : {}),
    });

  it('writes the lane, keeps a previous one when the new failure names none, and omits it when unknown', () => {
    const urgent = failureOf(build({ lane: 'urgent' }));
    expect(urgent.lane).toBe('urgent');
    expect(failureOf(build({ previous: urgent })).lane).toBe('urgent');
    expect(failureOf(build({})).lane).toBeUndefined();
  });

  it('reports a record whose lane is not a lane as a problem (nothing unreadable is replayed)', () => {
    // Prepare
    const message = build({ lane: 'bulk' });
    const attribute = message.MessageAttributes[FAILURE_ATTRIBUTE] as MessageAttributeValue;
    attribute.StringValue = (attribute.StringValue as string).replace('"bulk"', '"express"');

    // Act
    const read = readDlqMessage({ Body: message.MessageBody, MessageAttributes: message.MessageAttributes });

    // Assess
    expect(read.failure).toBeUndefined();
    expect(read.problem).toMatch(/failure record is invalid: lane:/);
  });
});

describe('the redrive sends each message back to its lane', () => {
  const DLQ = 'https://sqs.test/000000000000/dlq';
  const URLS: Record<Lane, string> = {
    urgent: 'https://sqs.test/000000000000/svc-ingest-urgent',
    normal: 'https://sqs.test/000000000000/svc-ingest',
    bulk: 'https://sqs.test/000000000000/svc-ingest-bulk',
  };

  function world(laneQueueUrls: Partial<Record<Lane, string>> = URLS) {
    const sqs = createInMemorySqsPort(() => NOW);
    const deps: RedriveDeps = {
      sqs,
      dlqUrl: DLQ,
      ingestQueueUrl: URLS.normal,
      laneQueueUrls,
      now: () => NOW,
    };
    const park = (lane: Lane | undefined, messageId: string) =>
      sqs.put(
        DLQ,
        buildDlqMessage({
          body: `{"n":"${messageId}"}`,
          attributes: {},
          messageId,
          failure: {
            class: 'PERMANENT',
            code: 'NoMatchingRule',
            message: 'no rule',
            ...(lane ? { lane } : {}),
          },
          now: NOW,
        }),
      );
    const bodies = (url: string) => sqs.messages(url).map((m) => m.body);
    return { sqs, deps, park, bodies };
  }

  it('replays to the queue of the lane in the record, and a record without a lane to the ingest queue', async () => {
    // Prepare
    const w = world();
    w.park('urgent', 'u');
    w.park('bulk', 'b');
    w.park(undefined, 'old');

    // Act
    const summary = await runRedrive(w.deps, { mode: 'ops-replay' });

    // Assess
    expect(summary).toMatchObject({ replayed: 3, problems: [] });
    expect(w.bodies(URLS.urgent)).toEqual(['{"n":"u"}']);
    expect(w.bodies(URLS.bulk)).toEqual(['{"n":"b"}']);
    expect(w.bodies(URLS.normal)).toEqual(['{"n":"old"}']);
    expect(summary.actions.map((a) => a.lane).sort()).toEqual(['bulk', 'normal', 'urgent']);
    expect(w.sqs.messages(DLQ)).toEqual([]);
  });

  it('leaves a message in the DLQ, reported, when its lane has no queue URL', async () => {
    // Prepare
    const w = world({});
    const stored = w.park('urgent', 'u');

    // Act
    const summary = await runRedrive(w.deps, { mode: 'ops-replay' });

    // Assess
    expect(summary.replayed).toBe(0);
    expect(summary.problems).toEqual([
      { messageId: stored.messageId, problem: expect.stringMatching(/no queue URL for lane urgent/) },
    ]);
    expect(w.sqs.messages(DLQ)).toHaveLength(1);
  });

  it('replays a record-less message named by ops to the lane queue SQS moved it from', async () => {
    // Prepare: moved by the urgent queue's redrive policy (DeadLetterQueueSourceArn).
    const w = world();
    const stored = w.sqs.put(DLQ, { MessageBody: '{"bare":true}', MessageAttributes: {} }, QUEUE_ARNS.urgent);

    // Act
    const summary = await runRedrive(w.deps, {
      mode: 'ops-replay',
      filter: { messageIds: [stored.messageId] },
    });

    // Assess
    expect(summary.replayed).toBe(1);
    expect(w.bodies(URLS.urgent)).toEqual(['{"bare":true}']);
    const [replayed] = w.sqs.messages(URLS.urgent);
    const record = readDlqMessage({ Body: replayed?.body, MessageAttributes: replayed?.attributes }).failure;
    expect(record).toMatchObject({ code: 'NoFailureRecord', lane: 'urgent', eventId: stored.messageId });
  });
});
