/**
 * The 12-task PreviousContactId chain limit told apart from the active-task quota, end to end on the
 * sandbox with the real SDK clients: ingest counts each chained task once in the ledger; the 13th
 * event of a full chain is parked PERMANENT `ChainLimit` and the scheduled redrive never replays it;
 * with `onChainLimit: related` it becomes a task linked by RelatedContactId; a 402 of the active-task
 * quota on a chain the ledger does not count as full stays OVER_QUOTA.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { followUpEvent, followUpRule, useHarness } from '#test/support/sandbox-fixture.ts';

const PARK_SOURCE = 'com.example.chain-limit';
const RELATED_SOURCE = 'com.example.chain-limit-related';
const CHAIN_MAX = 12;
/** Past the largest OVER_QUOTA backoff (OVER_QUOTA_BACKOFF_MAX_SECONDS: 3600 s). */
const PAST_EVERY_BACKOFF_SECONDS = 4_000;

const ruleFor = (source: string, options?: Record<string, unknown>) =>
  followUpRule(source, { mapping: { previousContactId: 'data.previous' }, ...(options ? { options } : {}) });
const cloudEvent = (source: string, id: string, previous: string) => followUpEvent(source, id, { previous });

describe('the PreviousContactId chain limit through ingest', () => {
  let voiceId = '';
  const f = useHarness({ env: { START_TASK_RATE: '1000' } }, async (h) => {
    // The park rule leaves onChainLimit at its default.
    await h.putRules([ruleFor(PARK_SOURCE), ruleFor(RELATED_SOURCE, { onChainLimit: 'related' })]);
    // A call the tasks follow up: no task itself, so the chain holds exactly the tasks ingest creates.
    voiceId = h.sandbox.connect.seedContact({ instanceId: INSTANCE_ID, channel: 'VOICE' }).ContactId;
  });
  const statuses = (body: string) => f.h.statuses(body);
  const tasksWith = (token: string) => f.tasksWith(token);
  const startCalls = (outcome: string) => f.calls(outcome);
  const { redrive } = f;

  it('counts twelve chained tasks once each, redeliveries included', async () => {
    // Prepare
    const bodies = Array.from({ length: CHAIN_MAX }, (_, n) =>
      cloudEvent(PARK_SOURCE, `link-${String(n + 1).padStart(2, '0')}`, voiceId),
    );

    // Act: twelve events, then one of them delivered again.
    await f.h.sendBatch(bodies.map((body) => ({ body })));
    await f.h.idle();
    await f.h.send(bodies[4] as string);
    await f.h.idle();

    // Assess
    expect(bodies.map((body) => statuses(body)[0])).toEqual(bodies.map(() => 'created'));
    expect(statuses(bodies[4] as string)).toEqual(['created', 'duplicate']);
    const chained = f.h.tasks().filter((t) => t.PreviousContactId === voiceId);
    expect(chained).toHaveLength(CHAIN_MAX);
    expect(await f.ledger().chainTasks(INSTANCE_ID, voiceId)).toBe(CHAIN_MAX);
  });

  it('parks the 13th event PERMANENT ChainLimit, and the redrive never replays it', async () => {
    // Prepare
    const body = cloudEvent(PARK_SOURCE, 'link-13', voiceId);
    const token = taskClientToken(INSTANCE_ID, PARK_SOURCE, 'link-13');
    const quotaBefore = startCalls('ServiceQuotaExceededException');

    // Act 1: the event is ingested.
    await f.h.send(body);
    await f.h.idle();

    // Assess 1: one 402, parked PERMANENT with a reason that names the chain, the count and the limit.
    expect(statuses(body)).toEqual(['parked']);
    expect(startCalls('ServiceQuotaExceededException') - quotaBefore).toBe(1);
    const [parked, ...others] = (await f.h.dlq()).filter((e) => e.body === body);
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
    await f.h.idle();
    await f.h.advanceClock(PAST_EVERY_BACKOFF_SECONDS);
    runs.push(await redrive());
    await f.h.idle();

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
    const after = (await f.h.dlq()).filter((e) => e.body === body);
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
    await f.h.send(body);
    await f.h.idle();

    // Assess: a task linked as related, which the chain does not count.
    expect(statuses(body)).toEqual(['created']);
    const [task, ...more] = tasksWith(token);
    expect(more).toEqual([]);
    expect(task?.RelatedContactId).toBe(voiceId);
    expect(task?.PreviousContactId).toBeUndefined();
    expect(await f.ledger().chainTasks(INSTANCE_ID, voiceId)).toBe(CHAIN_MAX);
    expect((await f.h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });

  it('keeps a 402 of the active-task quota OVER_QUOTA on a chain the ledger does not count as full', async () => {
    // Prepare: a second call with one chained task, then an instance at its active-task quota.
    const otherCall = f.h.sandbox.connect.seedContact({
      instanceId: INSTANCE_ID,
      channel: 'VOICE',
    }).ContactId;
    const first = cloudEvent(PARK_SOURCE, 'other-1', otherCall);
    const second = cloudEvent(PARK_SOURCE, 'other-2', otherCall);
    await f.h.send(first);
    await f.h.idle();
    const active = f.h.tasks().filter((t) => t.State === 'ACTIVE').length;
    const quotaBefore = f.h.sandbox.connect.config().activeTaskQuota;

    // Act
    try {
      await f.h.connectConfig({ activeTaskQuota: active });
      await f.h.send(second);
      await f.h.idle();
    } finally {
      await f.h.connectConfig({ activeTaskQuota: quotaBefore });
    }

    // Assess
    expect(statuses(first)).toEqual(['created']);
    expect(await f.ledger().chainTasks(INSTANCE_ID, otherCall)).toBe(1);
    expect(statuses(second)).toEqual(['parked']);
    const parked = (await f.h.dlq()).filter((e) => e.body === second);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.failure).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      attempts: 1,
    });
    expect(parked[0]?.failure?.nextAttemptAt).toBeDefined();
  });
});
