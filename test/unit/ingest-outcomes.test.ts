/**
 * What ingest tells publishers and keeps for the capacity redrive (lib/ingest/outcomes.ts), through
 * processRecord with the real afterCreate on the in-memory ledger: task.created is written with the
 * entry and survives a crash anywhere after the Connect call; task.rejected names the DLQ message; an
 * OVER_QUOTA 402 leaves a waiter, which the replay that creates its task removes.
 */
import { ServiceQuotaExceededException } from '@aws-sdk/client-connect';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createCapacityGate } from '#lib/capacity/gate.ts';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { createAfterCreate } from '#lib/ingest/after-create.ts';
import type { IngestOutcomes } from '#lib/ingest/outcomes.ts';
import type { StartTaskCall } from '#lib/ingest/ports.ts';
import { type IngestDeps, processRecord } from '#lib/ingest/process-record.ts';
import { drainEffects } from '#lib/outcomes/drain.ts';
import type { Outcome } from '#lib/outcomes/outcome.ts';
import {
  fromSdkAttribute,
  type OutgoingMessage,
  readDlqMessage,
  toLambdaAttribute,
  toReplayMessage,
} from '#lib/retry/dlq-message.ts';
import { compileRule, validateRule } from '#lib/rules/compile.ts';
import { sqsRecord } from '#test/support/lambda.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';
import { InMemoryTransferStore } from '#test/support/memory-transfer-store.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';
const SECRET = 'Ada Example wants a refund';

function rule(
  notify: unknown = { outcomes: ['task.created', 'task.rejected'], data: { orderId: 'data.orderId' } },
) {
  const result = validateRule({
    source: 'shop',
    ruleId: 'order-late',
    match: "type = 'order.late'",
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: { name: "'Order ' & data.orderId", description: 'data.details' },
    idempotencyKey: 'data.orderId',
    ...(notify === null ? {} : { notify }),
  });
  if (!result.ok) throw new Error(result.errors.join('; '));
  return compileRule(result.rule);
}

const order = (orderId: string, extra: Record<string, unknown> = {}) =>
  sqsRecord({
    messageId: `m-${orderId}`,
    body: JSON.stringify({
      specversion: '1.0',
      id: `e-${orderId}`,
      source: 'shop',
      type: 'order.late',
      time: '2024-05-01T11:00:00Z',
      data: { orderId, details: SECRET, ...extra },
    }),
  });

function setup(rules = [rule()]) {
  const ledger = new InMemoryLedger();
  const published: Outcome[] = [];
  const faults = { publish: false, ledger: false, quota: false };
  const dlq: OutgoingMessage[] = [];
  const tokens = new Map<string, string>();
  const calls: StartTaskCall[] = [];
  const outcomes: IngestOutcomes = {
    outbox: ledger,
    waiters: ledger,
    drain: (key, effects) =>
      drainEffects(key, effects, {
        outbox: ledger,
        publisher: {
          async publish(list) {
            if (faults.publish) throw new Error('the function died before PutEvents');
            published.push(...list);
            return { failed: [] };
          },
        },
        log: { warn: () => {} },
        now: () => NOW,
      }),
  };
  const afterCreate = createAfterCreate({
    ledger,
    transfers: new InMemoryTransferStore(),
    now: () => NOW,
    outcomes,
  });
  const deps: IngestDeps = {
    rules: { rulesFor: async (source) => rules.filter((r) => r.rule.source === source) },
    templates: { get: async () => ({}) as never },
    async startTask(call) {
      calls.push(call);
      if (faults.quota) {
        throw new ServiceQuotaExceededException({
          message: 'active tasks',
          $metadata: { httpStatusCode: 402 },
        });
      }
      const known = tokens.get(call.clientToken);
      if (known) return { contactId: known, duplicate: true, linkedAsRelated: false };
      tokens.set(call.clientToken, `contact-${tokens.size + 1}`);
      return { contactId: `contact-${tokens.size}`, duplicate: false, linkedAsRelated: false };
    },
    queue: {
      changeVisibility: async () => {},
      async sendToDlq(message) {
        dlq.push(message);
        return { messageId: `dlq-${dlq.length}` };
      },
      sendBack: async () => {
        throw new Error('no record is sent back in these tests');
      },
    },
    async afterCreate(input) {
      if (faults.ledger) throw new Error('the function died after StartTaskContact');
      await afterCreate(input);
    },
    requestTransfer: async () => {
      throw new Error('no transfer rules here');
    },
    lifecycle: async () => {
      throw new Error('no lifecycle rules here');
    },
    metrics: { count: () => {} },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    limits: DEFAULT_TASK_LIMITS,
    transientBackoff: { baseSeconds: 2, capSeconds: 300, random: () => 0 },
    overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600, random: () => 0 },
    maxReceiveCount: 10,
    outcomes,
    now: () => NOW,
  };
  return { deps, ledger, published, faults, dlq, calls };
}

const redelivered = (record: SQSRecord) => ({
  ...record,
  attributes: { ...record.attributes, ApproximateReceiveCount: '2' },
});

function replayOf(message: OutgoingMessage | undefined): SQSRecord {
  if (!message) throw new Error('nothing parked');
  const read = readDlqMessage({ Body: message.MessageBody, MessageAttributes: message.MessageAttributes });
  const replay = toReplayMessage(read, { redriveCount: 1 });
  return sqsRecord({
    messageId: 'replay-1',
    body: replay.MessageBody,
    messageAttributes: Object.fromEntries(
      Object.entries(replay.MessageAttributes).map(([k, v]) => [k, toLambdaAttribute(fromSdkAttribute(v))]),
    ),
  });
}

describe('ingest outcomes', () => {
  it('publishes task.created with the ContactId, the create event and only the mapped data', async () => {
    // Prepare
    const f = setup();
    // Act
    const out = await processRecord(order('o-1'), f.deps);
    // Assess
    expect(out).toMatchObject({ status: 'created', contactId: 'contact-1' });
    expect(f.published).toHaveLength(1);
    expect(f.published[0]).toMatchObject({
      type: 'task.created',
      subject: 'contact-1',
      source: 'connect-task-ingest',
      data: {
        contactId: 'contact-1',
        instanceId: INSTANCE,
        ruleId: 'order-late',
        event: { source: 'shop', id: 'e-o-1', idempotencyKey: 'o-1' },
        mapped: { orderId: 'o-1' },
      },
    });
    expect(JSON.stringify(f.published)).not.toContain(SECRET);
    expect(await f.ledger.pendingEffects(taskClientToken(INSTANCE, 'shop', 'o-1'))).toEqual([]);
  });

  it('keeps task.created when the function dies between StartTaskContact and the ledger write', async () => {
    const f = setup();
    f.faults.ledger = true;
    await expect(processRecord(order('o-2'), f.deps)).rejects.toThrow();
    f.faults.ledger = false;
    await processRecord(redelivered(order('o-2')), f.deps);
    expect(f.calls).toHaveLength(2);
    expect(f.published.map((o) => o.type)).toEqual(['task.created']);
  });

  it('keeps task.created when the function dies between the ledger write and PutEvents, and publishes it once', async () => {
    // Prepare: the entry (with its outcome) is written, the publish never happens.
    const f = setup();
    f.faults.publish = true;
    await processRecord(order('o-3'), f.deps);
    const token = taskClientToken(INSTANCE, 'shop', 'o-3');
    const left = await f.ledger.pendingEffects(token);
    // Act: SQS delivers the record again (the event source never saw the record done).
    f.faults.publish = false;
    const again = await processRecord(redelivered(order('o-3')), f.deps);
    await processRecord(redelivered(order('o-3')), f.deps);
    // Assess
    expect(left.map((e) => e.kind)).toEqual(['publish']);
    expect(again.status).toBe('duplicate');
    expect(f.published.map((o) => o.id)).toEqual([left[0]?.id]);
  });

  it('publishes task.rejected with its class, code, reason and DLQ message id, and no task contents', async () => {
    // Prepare: the mapping fails (no orderId), the rule asks for rejections.
    const f = setup();
    // Act
    const out = await processRecord(order('', { orderId: null }), f.deps);
    // Assess
    expect(out).toMatchObject({ status: 'parked', failureClass: 'PERMANENT' });
    expect(f.published).toHaveLength(1);
    expect(f.published[0]).toMatchObject({
      type: 'task.rejected',
      subject: 'shop/e-',
      data: { event: { source: 'shop', id: 'e-' }, failure: { class: 'PERMANENT', dlqMessageId: 'dlq-1' } },
    });
    expect(JSON.stringify(f.published)).not.toContain(SECRET);
  });

  it('keeps the first rejection of an event parked twice: one content under its id, naming the first DLQ message', async () => {
    // Prepare: the mapping fails (no orderId); the record is parked and its rejection published.
    const f = setup();
    await processRecord(order('', { orderId: null }), f.deps);
    // Act: SQS delivers the record again (the delete was lost); it parks again, as dlq-2.
    await processRecord(redelivered(order('', { orderId: null })), f.deps);
    // Assess: two DLQ copies, one rejection, naming the first.
    expect(f.dlq).toHaveLength(2);
    expect(f.published.map((o) => o.data.failure?.dlqMessageId)).toEqual(['dlq-1']);
  });

  it('publishes the first recorded rejection, not its own, when a second park finds it still pending', async () => {
    // Prepare: the first park records its rejection, and dies before PutEvents.
    const f = setup();
    f.faults.publish = true;
    await processRecord(order('', { orderId: null }), f.deps);
    // Act: the redelivered record parks again (dlq-2) and publishes what the outbox holds.
    f.faults.publish = false;
    await processRecord(redelivered(order('', { orderId: null })), f.deps);
    // Assess
    expect(f.dlq).toHaveLength(2);
    expect(f.published.map((o) => o.data.failure?.dlqMessageId)).toEqual(['dlq-1']);
  });

  it("publishes the rejection of an event no rule matched when its source's rule asks, and nothing when none does", async () => {
    // Prepare
    const unmatched = sqsRecord({
      messageId: 'm-x',
      body: JSON.stringify({
        specversion: '1.0',
        id: 'x-1',
        source: 'shop',
        type: 'order.shipped',
        data: {},
      }),
    });
    const asks = setup([rule()]);
    const silent = setup([rule(null)]);
    // Act
    await processRecord(unmatched, asks.deps);
    await processRecord(unmatched, silent.deps);
    // Assess
    expect(asks.published).toHaveLength(1);
    expect(asks.published[0]).toMatchObject({
      type: 'task.rejected',
      data: {
        ruleId: 'order-late',
        failure: { class: 'PERMANENT', code: 'NoMatchingRule', dlqMessageId: 'dlq-1' },
      },
    });
    expect(silent.dlq).toHaveLength(1);
    expect(silent.published).toEqual([]);
  });

  it('parks an event without calling Connect when the instance is full by the service’s own count, with its waiter', async () => {
    // Prepare: the service's tasks hold all 4 of the instance's slots.
    const f = setup();
    await f.ledger.setSlots(INSTANCE, 4);
    f.deps.capacity = createCapacityGate({ slots: f.ledger, quota: 4 });
    // Act
    const out = await processRecord(order('o-6'), f.deps);
    // Assess
    expect(out).toMatchObject({ status: 'parked', failureClass: 'OVER_QUOTA', code: 'ActiveTasksAtQuota' });
    expect(f.calls).toEqual([]);
    expect((await f.ledger.oldestWaiters(INSTANCE, 5, NOW)).map((w) => w.clientToken)).toEqual([
      taskClientToken(INSTANCE, 'shop', 'o-6'),
    ]);
  });

  it('gives the slot back when no task came of the call, and keeps it for a created task', async () => {
    const f = setup();
    f.deps.capacity = createCapacityGate({ slots: f.ledger, quota: 2 });
    await processRecord(order('o-7'), f.deps);
    await processRecord(redelivered(order('o-7')), f.deps);
    f.faults.quota = true;
    await processRecord(order('o-8'), f.deps);
    expect(await f.ledger.takeSlot(INSTANCE, 2, false)).toEqual({ taken: true, used: 2 });
  });

  it('leaves a waiter beside an OVER_QUOTA event, removed once a replay creates its task', async () => {
    // Prepare
    const f = setup();
    f.faults.quota = true;
    // Act
    const parked = await processRecord(order('o-5'), f.deps);
    const waiting = await f.ledger.oldestWaiters(INSTANCE, 5, NOW);
    f.faults.quota = false;
    const replayed = await processRecord(replayOf(f.dlq[0]), f.deps);
    // Assess
    expect(parked).toMatchObject({ status: 'parked', failureClass: 'OVER_QUOTA' });
    expect(waiting).toHaveLength(1);
    expect(waiting[0]).toMatchObject({
      clientToken: taskClientToken(INSTANCE, 'shop', 'o-5'),
      lane: 'normal',
      since: NOW,
    });
    expect(waiting[0]?.message).toEqual(f.dlq[0]);
    expect(replayed.status).toBe('created');
    expect(await f.ledger.oldestWaiters(INSTANCE, 5, NOW)).toEqual([]);
    expect(f.published.map((o) => o.type)).toEqual(['task.created']);
  });
});
