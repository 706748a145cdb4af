/**
 * Scheduled transfers end to end on loopback: dynalite (in-process) with the transfers and ledger
 * tables created from serverless.yml, the sandbox's Connect emulator, real SDK v3 clients.
 */
import { ConnectClient, StartTaskContactCommand } from '@aws-sdk/client-connect';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import { taskClientToken, transferClientToken } from '#lib/idempotency/token.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { TransferPlan } from '#lib/rules/schema.ts';
import { ConnectTransferGateway } from '#lib/transfers/gateway.ts';
import { handleTransferInvocation } from '#lib/transfers/invoke.ts';
import { planFromRule } from '#lib/transfers/plan.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { runSweep, type SweepDeps } from '#lib/transfers/sweep.ts';
import {
  type ConnectEmulator,
  type ContactView,
  createConnectEmulator,
  loadWorld,
} from '#sandbox/connect/emulator.ts';
import { serveHandler } from '#sandbox/serve.ts';
import { startTransferDynalite, type TransferDynalite } from '#test/support/transfer-dynalite.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const TASK_FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';
const QUEUE_TRANSFER_FLOW = 'f1a2b3c4-0000-4000-8000-000000000002';
const ESCALATIONS = 'a0a0a0a0-0000-4000-8000-000000000002';
const TRANSFERS_TABLE = 'connect-task-ingest-test-transfers';
const LEDGER_TABLE = 'connect-task-ingest-test-ledger';

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe('scheduled transfers against dynalite and the Connect emulator', () => {
  let db: TransferDynalite;
  let dynamo: TransferDynalite['dynamo'];
  let emulator: ConnectEmulator;
  let connectServer: Awaited<ReturnType<typeof serveHandler>>;
  let connect: ConnectClient;
  let tableSeq = 0;
  let transfersTable: string;

  beforeAll(async () => {
    db = await startTransferDynalite();
    dynamo = db.dynamo;
    await db.createTable('LedgerTable', LEDGER_TABLE);

    emulator = createConnectEmulator({ world: loadWorld() });
    connectServer = await serveHandler((req) =>
      req.path.startsWith('/_sandbox') ? emulator.admin(req) : emulator.handle(req),
    );
    connect = new ConnectClient({
      endpoint: connectServer.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
      // Our reschedule is the retry under test, not the SDK's.
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    connect?.destroy();
    await connectServer?.close();
    await db?.stop();
  });

  beforeEach(async () => {
    emulator.reset();
    // A fresh transfers table per test, so each test sees only its own plans.
    tableSeq += 1;
    transfersTable = `${TRANSFERS_TABLE}-${tableSeq}`;
    await db.createTable('TransfersTable', transfersTable);
  });

  const store = () => new DynamoTransferStore({ client: dynamo, tableName: transfersTable });
  const deps = (owner: string, overrides: Partial<SweepDeps> = {}): SweepDeps => ({
    store: store(),
    gateway: new ConnectTransferGateway(connect),
    limiter: createRateLimiter({ ratePerSecond: Number.POSITIVE_INFINITY }),
    now: Date.now,
    owner,
    leaseMs: 60_000,
    remainingTimeMs: () => 60_000,
    ...overrides,
  });

  async function startTask(key: string): Promise<string> {
    const out = await connect.send(
      new StartTaskContactCommand({
        InstanceId: INSTANCE,
        ContactFlowId: TASK_FLOW,
        Name: `task ${key}`,
        ClientToken: taskClientToken(INSTANCE, 'crm', key),
      }),
    );
    if (!out.ContactId) throw new Error('StartTaskContact returned no ContactId');
    return out.ContactId;
  }

  const escalate = (after: string): TransferPlan => ({
    planId: 'escalate',
    after,
    queueId: ESCALATIONS,
    contactFlowId: QUEUE_TRANSFER_FLOW,
  });

  it('transfers every due plan of 50 tasks exactly once with two sweeps running at the same time, and none of the others', async () => {
    // Prepare: 50 tasks created an hour ago; every third plan is due in 5 hours, the rest were due already.
    const createdAt = Date.now() - 3_600_000;
    const due = new Set<string>();
    const notDue = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const contactId = await startTask(`order-${i}`);
      const later = i % 3 === 0;
      (later ? notDue : due).add(contactId);
      const item = planFromRule(escalate(later ? 'PT6H' : `PT${10 + i}M`), {
        contactId,
        instanceId: INSTANCE,
        createdAt,
      });
      expect(await store().schedule(item)).toBe('created');
    }
    // Act
    const [a, b] = await Promise.all([
      runSweep(deps('sweep-a', { policy: { pageSize: 10 } })),
      runSweep(deps('sweep-b', { policy: { pageSize: 7 } })),
    ]);
    // Assess
    expect(a.done + b.done).toBe(due.size);
    expect(a.failed + b.failed + a.rescheduled + b.rescheduled + a.errors + b.errors).toBe(0);
    const { contacts } = await json<{ contacts: ContactView[] }>(
      `${connectServer.endpoint}/_sandbox/contacts`,
    );
    for (const contact of contacts) {
      const expected = due.has(contact.ContactId) ? 1 : 0;
      expect({ id: contact.ContactId, transfers: contact.Transfers }).toEqual({
        id: contact.ContactId,
        transfers: expected,
      });
      if (expected === 1) expect(contact.QueueId).toBe(ESCALATIONS);
    }
    const calls = await json<Record<string, Record<string, number>>>(
      `${connectServer.endpoint}/_sandbox/calls`,
    );
    expect(calls.TransferContact).toEqual({ '200': due.size });
    for (const contactId of notDue)
      expect((await store().get(contactId, 'escalate'))?.status).toBe('PENDING');
    for (const contactId of due) {
      expect(await store().get(contactId, 'escalate')).toMatchObject({
        status: 'DONE',
        result: { ContactId: contactId },
      });
    }
  });

  it('transfers each plan once when Connect lost the responses, retrying later with the same ClientToken', async () => {
    // Prepare: every TransferContact takes effect but its response is lost (the caller sees a 500).
    emulator.configure({ lostResponseRate: { TransferContact: 1 } });
    const createdAt = Date.now() - 3_600_000;
    const contactIds: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const contactId = await startTask(`lost-${i}`);
      contactIds.push(contactId);
      await store().schedule(planFromRule(escalate('PT1M'), { contactId, instanceId: INSTANCE, createdAt }));
    }
    let clock = Date.now();
    const lost = await runSweep(deps('sweep-1', { now: () => clock }));
    emulator.configure({ lostResponseRate: { TransferContact: 0 } });
    clock += 10 * 60_000;
    // Act
    const retried = await runSweep(deps('sweep-2', { now: () => clock }));
    // Assess
    expect(lost).toMatchObject({ claimed: 10, rescheduled: 10, done: 0 });
    expect(retried).toMatchObject({ claimed: 10, done: 10 });
    const contacts = emulator.contacts({ instanceId: INSTANCE });
    for (const contactId of contactIds) {
      expect(contacts.find((c) => c.ContactId === contactId)?.Transfers).toBe(1);
      expect(await store().get(contactId, 'escalate')).toMatchObject({ status: 'DONE', attempts: 1 });
    }
    expect(emulator.callCounts().TransferContact).toMatchObject({ LostResponse: 10, '200': 10 });
  });

  it('fails the plan of an ended task without calling TransferContact', async () => {
    // Prepare
    const ended = emulator.seedContact({ instanceId: INSTANCE, channel: 'TASK', state: 'ENDED' });
    await store().schedule(
      planFromRule(escalate('PT0S'), {
        contactId: ended.ContactId,
        instanceId: INSTANCE,
        createdAt: Date.now() - 1_000,
      }),
    );
    // Act
    const summary = await runSweep(deps('sweep-a'));
    // Assess
    expect(summary).toMatchObject({ claimed: 1, failed: 1 });
    expect((await store().get(ended.ContactId, 'escalate'))?.reason).toMatch(/^ContactEnded: /);
    expect(emulator.callCounts().TransferContact ?? {}).toEqual({});
  });

  it('finds the task of an earlier event through the ledger and transfers that contact', async () => {
    // Prepare: two tasks from two events of the same source; the ledger records both (as the ingest does).
    const ledger = new DynamoLedger({ client: dynamo, tableName: LEDGER_TABLE });
    const ids: Record<string, string> = {};
    for (const key of ['ticket-1', 'ticket-2']) {
      ids[key] = await startTask(key);
      const entry = {
        clientToken: taskClientToken(INSTANCE, 'crm', key),
        contactId: ids[key] as string,
        instanceId: INSTANCE,
        source: 'crm',
        eventId: `evt-${key}`,
        idempotencyKey: key,
        ruleId: 'crm-tickets',
        createdAt: Date.now(),
      };
      expect(await ledger.put(entry)).toBe('created');
      expect(await ledger.put({ ...entry, eventId: 'redelivered' })).toBe('exists');
    }
    const event = {
      id: 'eb-1',
      source: 'crm',
      'detail-type': 'TransferRequested',
      detail: {
        instanceId: INSTANCE,
        source: 'crm',
        idempotencyKey: 'ticket-2',
        queueId: ESCALATIONS,
        contactFlowId: QUEUE_TRANSFER_FLOW,
      },
    };
    // Act: the event is delivered twice.
    const first = await handleTransferInvocation({ ...deps('invocation-1'), ledger }, event);
    const again = await handleTransferInvocation({ ...deps('invocation-2'), ledger }, event);
    // Assess
    expect(first).toMatchObject({
      kind: 'request',
      contactId: ids['ticket-2'],
      scheduled: 'created',
      outcome: 'done',
    });
    expect(again).toMatchObject({
      kind: 'request',
      contactId: ids['ticket-2'],
      scheduled: 'exists',
      outcome: 'skipped',
    });
    const contacts = emulator.contacts({ instanceId: INSTANCE });
    expect(contacts.find((c) => c.ContactId === ids['ticket-2'])?.Transfers).toBe(1);
    expect(contacts.find((c) => c.ContactId === ids['ticket-1'])?.Transfers).toBe(0);
    if (first.kind !== 'request') throw new Error('expected a request result');
    expect((await store().get(first.contactId, first.planId))?.status).toBe('DONE');
    expect(transferClientToken(first.contactId, first.planId)).toMatch(/^cti1-xfer-/);
  });

  it('refuses an event-requested transfer whose earlier event created no task', async () => {
    // Prepare
    const ledger = new DynamoLedger({ client: dynamo, tableName: LEDGER_TABLE });
    const event = {
      detail: {
        instanceId: INSTANCE,
        source: 'crm',
        idempotencyKey: 'never-seen',
        queueId: ESCALATIONS,
        contactFlowId: QUEUE_TRANSFER_FLOW,
      },
    };
    // Act / Assess
    await expect(handleTransferInvocation({ ...deps('invocation-1'), ledger }, event)).rejects.toMatchObject({
      name: 'TransferPlanError',
      code: 'TransferTargetNotFound',
    });
  });
});
