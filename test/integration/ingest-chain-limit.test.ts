/**
 * The 12-task PreviousContactId chain limit told apart from the active-task quota, end to end on the
 * sandbox with the real SDK clients: ingest counts each chained task once in the ledger; the 13th
 * event of a full chain is parked PERMANENT `ChainLimit` and the scheduled redrive never replays it;
 * with `onChainLimit: related` it becomes a task linked by RelatedContactId; a 402 of the active-task
 * quota on a chain the ledger does not count as full stays OVER_QUOTA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { RedriveSummary } from '#lib/redrive/redrive.ts';
import { DynamoLedgerStore } from '#lib/transfers/ledger.ts';
import { FLOW_ID, type Harness, INSTANCE_ID, startHarness } from '#test/support/harness.ts';

const PARK_SOURCE = 'com.example.chain-limit';
const RELATED_SOURCE = 'com.example.chain-limit-related';
const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
const CHAIN_MAX = 12;
/** Past the largest OVER_QUOTA backoff (OVER_QUOTA_BACKOFF_MAX_SECONDS: 3600 s). */
const PAST_EVERY_BACKOFF_SECONDS = 4_000;

function ruleFor(source: string, options?: Record<string, unknown>) {
  return {
    source,
    ruleId: `${source}-rule`,
    instanceId: INSTANCE_ID,
    target: { contactFlowId: FLOW_ID },
    mapping: { name: "'Follow up ' & data.ref", previousContactId: 'data.previous' },
    ...(options ? { options } : {}),
  };
}

function cloudEvent(source: string, id: string, previous: string): string {
  return JSON.stringify({ specversion: '1.0', source, id, type: 'follow-up', data: { ref: id, previous } });
}

describe('the PreviousContactId chain limit through ingest', () => {
  let h: Harness;
  let ledger: DynamoLedgerStore;
  let voiceId: string;
  const seen: Array<{ body: string; status: string }> = [];

  const statuses = (body: string) => seen.filter((s) => s.body === body).map((s) => s.status);
  const tasksWith = (token: string) => h.tasks().filter((t) => t.ClientToken === token);
  const startCalls = (outcome: string) => h.sandbox.connect.callCounts().StartTaskContact?.[outcome] ?? 0;
  const redrive = async () => (await h.pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary;

  beforeAll(async () => {
    h = await startHarness({
      env: { START_TASK_RATE: '1000' },
      onOutcome: (record, outcome) => seen.push({ body: record.body, status: outcome.status }),
    });
    ledger = new DynamoLedgerStore({
      client: h.clients.dynamodb,
      tableName: h.sandbox.environment.LEDGER_TABLE as string,
    });
    // The park rule leaves onChainLimit at its default.
    await h.putRules([ruleFor(PARK_SOURCE), ruleFor(RELATED_SOURCE, { onChainLimit: 'related' })]);
    // A call the tasks follow up: no task itself, so the chain holds exactly the tasks ingest creates.
    voiceId = h.sandbox.connect.seedContact({ instanceId: INSTANCE_ID, channel: 'VOICE' }).ContactId;
  });
  afterAll(async () => {
    await h.stop();
  });

  it('counts twelve chained tasks once each, redeliveries included', async () => {
    // Prepare
    const bodies = Array.from({ length: CHAIN_MAX }, (_, n) =>
      cloudEvent(PARK_SOURCE, `link-${String(n + 1).padStart(2, '0')}`, voiceId),
    );

    // Act: twelve events, then one of them delivered again.
    await h.sendBatch(bodies.map((body) => ({ body })));
    await h.idle();
    await h.send(bodies[4] as string);
    await h.idle();

    // Assess
    expect(bodies.map((body) => statuses(body)[0])).toEqual(bodies.map(() => 'created'));
    expect(statuses(bodies[4] as string)).toEqual(['created', 'duplicate']);
    const chained = h.tasks().filter((t) => t.PreviousContactId === voiceId);
    expect(chained).toHaveLength(CHAIN_MAX);
    expect(await ledger.chainTasks(INSTANCE_ID, voiceId)).toBe(CHAIN_MAX);
  });

  it('parks the 13th event PERMANENT ChainLimit, and the redrive never replays it', async () => {
    // Prepare
    const body = cloudEvent(PARK_SOURCE, 'link-13', voiceId);
    const token = taskClientToken(INSTANCE_ID, PARK_SOURCE, 'link-13');
    const quotaBefore = startCalls('ServiceQuotaExceededException');

    // Act 1: the event is ingested.
    await h.send(body);
    await h.idle();

    // Assess 1: one 402, parked PERMANENT with a reason that names the chain, the count and the limit.
    expect(statuses(body)).toEqual(['parked']);
    expect(startCalls('ServiceQuotaExceededException') - quotaBefore).toBe(1);
    const [parked, ...others] = (await h.dlq()).filter((e) => e.body === body);
    expect(others).toEqual([]);
    expect(parked?.failure).toMatchObject({
      class: 'PERMANENT',
      code: 'ChainLimit',
      clientToken: token,
      attempts: 1,
      redriveCount: 0,
    });
    expect(parked?.failure?.message).toContain(`PreviousContactId ${voiceId}`);
    expect(parked?.failure?.message).toContain(`already has ${CHAIN_MAX} tasks`);
    expect(parked?.failure?.message).toContain(`at most ${CHAIN_MAX} linked tasks`);
    expect(parked?.failure?.nextAttemptAt).toBeUndefined();

    // Act 2: the scheduled redrive runs now, and again once every OVER_QUOTA backoff would be due.
    const runs = [await redrive()];
    await h.idle();
    await h.advanceClock(PAST_EVERY_BACKOFF_SECONDS);
    runs.push(await redrive());
    await h.idle();

    // Assess 2: left alone both times; never delivered again, never called again.
    for (const run of runs) {
      expect(run.replayed).toBe(0);
      expect(run.actions.filter((a) => a.messageId === parked?.messageId)).toEqual([
        expect.objectContaining({ action: 'leave', class: 'PERMANENT', code: 'ChainLimit' }),
      ]);
    }
    expect(statuses(body)).toEqual(['parked']);
    expect(startCalls('ServiceQuotaExceededException') - quotaBefore).toBe(1);
    expect(tasksWith(token)).toEqual([]);
    const after = (await h.dlq()).filter((e) => e.body === body);
    expect(after).toHaveLength(1);
    expect(after[0]?.failure).toMatchObject({
      class: 'PERMANENT',
      code: 'ChainLimit',
      attempts: 1,
      redriveCount: 0,
    });
  });

  it("links the 13th event by RelatedContactId when the rule's onChainLimit is 'related'", async () => {
    // Prepare
    const body = cloudEvent(RELATED_SOURCE, 'link-13-related', voiceId);
    const token = taskClientToken(INSTANCE_ID, RELATED_SOURCE, 'link-13-related');

    // Act
    await h.send(body);
    await h.idle();

    // Assess: a task linked as related, which the chain does not count.
    expect(statuses(body)).toEqual(['created']);
    const [task, ...more] = tasksWith(token);
    expect(more).toEqual([]);
    expect(task?.RelatedContactId).toBe(voiceId);
    expect(task?.PreviousContactId).toBeUndefined();
    expect(await ledger.chainTasks(INSTANCE_ID, voiceId)).toBe(CHAIN_MAX);
    expect((await h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });

  it('keeps a 402 of the active-task quota OVER_QUOTA on a chain the ledger does not count as full', async () => {
    // Prepare: a second call with one chained task, then an instance at its active-task quota.
    const otherCall = h.sandbox.connect.seedContact({ instanceId: INSTANCE_ID, channel: 'VOICE' }).ContactId;
    const first = cloudEvent(PARK_SOURCE, 'other-1', otherCall);
    const second = cloudEvent(PARK_SOURCE, 'other-2', otherCall);
    await h.send(first);
    await h.idle();
    const active = h.tasks().filter((t) => t.State === 'ACTIVE').length;
    const quotaBefore = h.sandbox.connect.config().activeTaskQuota;

    // Act
    try {
      await h.connectConfig({ activeTaskQuota: active });
      await h.send(second);
      await h.idle();
    } finally {
      await h.connectConfig({ activeTaskQuota: quotaBefore });
    }

    // Assess
    expect(statuses(first)).toEqual(['created']);
    expect(await ledger.chainTasks(INSTANCE_ID, otherCall)).toBe(1);
    expect(statuses(second)).toEqual(['parked']);
    const parked = (await h.dlq()).filter((e) => e.body === second);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.failure).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      attempts: 1,
    });
    expect(parked[0]?.failure?.nextAttemptAt).toBeDefined();
  });
});
