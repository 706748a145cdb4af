/**
 * Task lifecycle from upstream events: `update` and `complete` rules through the real
 * ingest handler and SDK clients against the sandbox's Connect emulator, in order, out of order and
 * duplicated; and the ops flows around them (fix a rule then replay at once; replaying an EXHAUSTED
 * message gives it a fresh redrive budget).
 */

import { StopContactCommand } from '@aws-sdk/client-connect';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { ESCALATIONS_QUEUE_ID, INSTANCE_ID, TRANSFER_FLOW_ID } from '#common/world.ts';
import { now } from '#lib/clock.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { taskWaitReceive } from '#lib/ingest/receives.ts';
import { buildDlqMessage } from '#lib/retry/dlq-message.ts';
import { previousFailure } from '#test/support/failures.ts';
import type { SeenOutcome } from '#test/support/harness.ts';
import { CASE_TASK_NAME, caseEvent, caseRule, useHarness } from '#test/support/sandbox-fixture.ts';

/**
 * The harness's maxReceiveCount: an update whose task never comes is parked on its 5th wait
 * (taskWaitReceive(8), lib/ingest/receives.ts); each wait is a copy sent back with the transient backoff.
 */
const MAX_RECEIVES = 8;

function lifecycleRules(source: string) {
  return [
    caseRule(source, 'opened', { mapping: { name: CASE_TASK_NAME } }),
    caseRule(source, 'updated', {
      mapping: {
        name: CASE_TASK_NAME,
        description: 'data.note',
        references: { status: { type: 'STRING', value: 'data.status' } },
      },
    }),
    caseRule(source, 'closed'),
  ];
}

const event = caseEvent;

/** Past the backoff of any wait for a create (seconds on the sandbox's clock). */
const HOLD_SECONDS = 600;

const T = (minute: number) => `2026-01-01T10:${String(minute).padStart(2, '0')}:00Z`;

describe('update and complete rules', () => {
  const f = useHarness({
    env: { START_TASK_RATE: '1000', INGEST_MAX_RECEIVE_COUNT: String(MAX_RECEIVES) },
  });
  const seen = () => f.h.outcomes.map(({ record, outcome }) => ({ body: record.body, outcome }));
  /** Resolves when an outcome satisfying `test` has been seen (now or later): no polling, no sleeps. */
  const outcomeSeen = (test: (s: { body: string; outcome: SeenOutcome }) => boolean, what: string) =>
    f.h.until(() => seen().some(test), what);

  afterEach(async () => {
    await f.h.connectConfig({ activeTaskQuota: 2500 });
  });

  const taskOf = (source: string, caseId: string) =>
    f.tasksWith(taskClientToken(INSTANCE_ID, source, `case-${caseId}`));
  const outcomesOf = (body: string) =>
    seen()
      .filter((s) => s.body === body)
      .map((s) => s.outcome);
  const calls = (op: string) => f.calls('200', op);
  const { cli, ledger } = f;

  it('creates, updates and completes a task in order', async () => {
    // Prepare
    const source = 'com.example.lc-order';
    await f.h.putRules(lifecycleRules(source));

    // Act
    await f.h.send(event(source, 'opened', '1', 'o-1', T(0)));
    await f.h.idle();
    const update = event(source, 'updated', '1', 'u-1', T(1), {
      subject: 'renamed',
      note: 'customer called back',
      status: 'waiting',
    });
    await f.h.send(update);
    await f.h.idle();
    const close = event(source, 'closed', '1', 'c-1', T(2));
    await f.h.send(close);
    await f.h.idle();

    // Assess
    const [task, ...others] = taskOf(source, '1');
    expect(others).toEqual([]);
    expect(task).toMatchObject({
      Name: 'Case 1: renamed',
      Description: 'customer called back',
      References: { status: { Type: 'STRING', Value: 'waiting' } },
      State: 'ENDED',
    });
    expect(outcomesOf(update)).toEqual([expect.objectContaining({ status: 'updated', ruleId: 'updated' })]);
    expect(outcomesOf(close)).toEqual([expect.objectContaining({ status: 'completed', ruleId: 'closed' })]);
    const stored = await ledger().lifecycle(taskClientToken(INSTANCE_ID, source, 'case-1'));
    expect(stored?.lifecycle).toMatchObject({ lastEventId: 'u-1', completedEventId: 'c-1' });
    expect(stored?.lifecycle.lease).toBeUndefined();
  });

  it("cancels a completed task's transfer plans that have not run, and a repeated complete changes nothing", async () => {
    // Prepare: the create rule plans an escalation two hours after the task.
    const source = 'com.example.lc-cancel';
    const transfer = {
      planId: 'escalate',
      after: 'PT2H',
      queueId: ESCALATIONS_QUEUE_ID,
      contactFlowId: TRANSFER_FLOW_ID,
    };
    await f.h.putRules([
      caseRule(source, 'opened', { mapping: { name: CASE_TASK_NAME }, transfer }),
      caseRule(source, 'closed'),
    ]);
    await f.h.send(event(source, 'opened', '9', 'o-9', T(0)));
    await f.h.idle();
    const [task] = taskOf(source, '9');
    const contactId = task?.ContactId as string;
    const plans = async () =>
      JSON.parse((await cli(['tasks', 'show', contactId, '--json'])).out).transfers.plans;
    expect(await plans()).toEqual([expect.objectContaining({ planId: 'escalate', status: 'PENDING' })]);

    // Act: the complete, then the same complete again (an upstream duplicate).
    const close = event(source, 'closed', '9', 'c-9', T(1));
    await f.h.send(close);
    await f.h.idle();
    await f.h.send(close);
    await f.h.idle();

    // Assess
    expect(outcomesOf(close).map((o) => o.status)).toEqual(['completed', 'stale']);
    expect(await plans()).toEqual([expect.objectContaining({ planId: 'escalate', status: 'CANCELLED' })]);
  });

  it('lets an update that arrives before its create wait, then applies it once the create exists', async () => {
    // Prepare
    const source = 'com.example.lc-early';
    await f.h.putRules(lifecycleRules(source));
    const update = event(source, 'updated', '2', 'u-2', T(5), { subject: 'early update' });

    // Act: the update first; once it has been sent back to wait, the create. On a busy machine the
    // copy (back within 1-2 s) may find no task again and wait once more: up to four waits do not park it.
    await f.h.send(update);
    await outcomeSeen(
      (s) => s.body === update && s.outcome.status === 'returned',
      'the early update sent back to wait',
    );
    await f.h.send(event(source, 'opened', '2', 'o-2', T(4)));
    await f.h.idle({ includeInvisible: false });
    await f.h.advanceClock(HOLD_SECONDS);
    await f.h.idle();

    // Assess: it waited (sent back, nothing counted but its waits), then applied once the task existed.
    expect(taskOf(source, '2')).toEqual([expect.objectContaining({ Name: 'Case 2: early update' })]);
    const statuses = outcomesOf(update).map((o) => o.status);
    expect(statuses.at(-1)).toBe('updated');
    expect(new Set(statuses.slice(0, -1))).toEqual(new Set(['returned']));
    expect(outcomesOf(update)[0]).toMatchObject({ status: 'returned', code: 'TaskNotFound' });
  });

  it('parks an update whose create never comes as PERMANENT TaskNotFound with its reason', async () => {
    // Prepare
    const source = 'com.example.lc-orphan';
    await f.h.putRules(lifecycleRules(source));
    const update = event(source, 'updated', '3', 'u-3', T(6), { subject: 'nobody' });

    // Act: move the clock past each wait's backoff until the last wait parks it.
    await f.h.send(update);
    for (let receive = 1; receive < taskWaitReceive(MAX_RECEIVES); receive += 1) {
      await outcomeSeen(
        (s) => s.body === update && outcomesOf(update).length >= receive,
        `receive ${receive}`,
      );
      await f.h.advanceClock(300);
    }
    await outcomeSeen((s) => s.body === update && s.outcome.status === 'parked', 'the orphan update parked');
    await f.h.idle();

    // Assess
    expect(outcomesOf(update).map((o) => o.status)).toEqual([
      ...Array.from({ length: taskWaitReceive(MAX_RECEIVES) - 1 }, () => 'returned'),
      'parked',
    ]);
    const parked = (await f.h.dlq()).filter((e) => e.body === update);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.failure).toMatchObject({ class: 'PERMANENT', code: 'TaskNotFound', ruleId: 'updated' });
    expect(parked[0]?.failure?.message).toContain('its create has not been ingested');
    expect(taskOf(source, '3')).toEqual([]);
  });

  it('completes a task whose complete arrives before an update; the update then changes nothing', async () => {
    // Prepare
    const source = 'com.example.lc-close-first';
    await f.h.putRules(lifecycleRules(source));
    await f.h.send(event(source, 'opened', '4', 'o-4', T(0)));
    await f.h.idle();
    const updatesBefore = calls('UpdateContact');

    // Act
    const close = event(source, 'closed', '4', 'c-4', T(3));
    await f.h.send(close);
    await f.h.idle();
    const update = event(source, 'updated', '4', 'u-4', T(2), { subject: 'too late' });
    await f.h.send(update);
    await f.h.idle();

    // Assess
    expect(taskOf(source, '4')).toEqual([expect.objectContaining({ Name: 'Case 4: first', State: 'ENDED' })]);
    expect(outcomesOf(close)).toEqual([expect.objectContaining({ status: 'completed' })]);
    expect(outcomesOf(update)).toEqual([expect.objectContaining({ status: 'stale', reason: 'completed' })]);
    expect(calls('UpdateContact')).toBe(updatesBefore);
  });

  it('applies each of duplicated creates, updates and completes once', async () => {
    // Prepare
    const source = 'com.example.lc-dup';
    await f.h.putRules(lifecycleRules(source));
    const before = { update: calls('UpdateContact'), stop: calls('StopContact') };
    const open = event(source, 'opened', '5', 'o-5', T(0));
    const update = event(source, 'updated', '5', 'u-5', T(1), { subject: 'once' });
    const close = event(source, 'closed', '5', 'c-5', T(2));

    // Act: every message twice.
    for (const body of [open, update, close]) {
      await f.h.send(body);
      await f.h.send(body);
      await f.h.idle();
    }

    // Assess
    expect(taskOf(source, '5')).toEqual([expect.objectContaining({ Name: 'Case 5: once', State: 'ENDED' })]);
    // A copy that meets the other's lease waits for it in its invocation, then finds it applied:
    // no receive is spent on TaskBusy.
    const statuses = (body: string) => outcomesOf(body).map((o) => o.status);
    expect(statuses(update)).toEqual(['updated', 'stale']);
    expect(statuses(close)).toEqual(['completed', 'stale']);
    expect(calls('UpdateContact') - before.update).toBe(1);
    expect(calls('StopContact') - before.stop).toBe(1);
  });

  it('changes nothing when an older update is delivered after a newer one', async () => {
    // Prepare
    const source = 'com.example.lc-older';
    await f.h.putRules(lifecycleRules(source));
    await f.h.send(event(source, 'opened', '6', 'o-6', T(0)));
    await f.h.idle();

    // Act
    await f.h.send(event(source, 'updated', '6', 'u-6b', T(9), { subject: 'newer', note: 'new note' }));
    await f.h.idle();
    const older = event(source, 'updated', '6', 'u-6a', T(8), { subject: 'older', note: 'old note' });
    await f.h.send(older);
    await f.h.idle();

    // Assess
    expect(taskOf(source, '6')).toEqual([
      expect.objectContaining({ Name: 'Case 6: newer', Description: 'new note', State: 'ACTIVE' }),
    ]);
    expect(outcomesOf(older)).toEqual([expect.objectContaining({ status: 'stale', reason: 'older' })]);
  });

  it('takes a complete of a task that already ended for success', async () => {
    // Prepare: the task is ended in Connect (an agent, say) before the complete arrives.
    const source = 'com.example.lc-ended';
    await f.h.putRules(lifecycleRules(source));
    await f.h.send(event(source, 'opened', '7', 'o-7', T(0)));
    await f.h.idle();
    const [task] = taskOf(source, '7');
    await f.h.clients.connect.send(
      new StopContactCommand({ InstanceId: INSTANCE_ID, ContactId: task?.ContactId as string }),
    );

    // Act
    const close = event(source, 'closed', '7', 'c-7', T(1));
    await f.h.send(close);
    await f.h.idle();

    // Assess
    expect(outcomesOf(close)).toEqual([expect.objectContaining({ status: 'completed' })]);
    expect((await f.h.dlq()).filter((e) => e.body === close)).toEqual([]);
    expect(f.h.sandbox.connect.callCounts().StopContact?.ContactNotFoundException).toBeGreaterThan(0);
  });

  it('turns a NoMatchingRule message into a task on the first replay right after the rule is stored', async () => {
    // Prepare: the message is parked while the source has no rules (and the function caches that).
    const source = 'com.example.lc-fix-then-replay';
    const body = event(source, 'opened', '8', 'o-8', T(0));
    await f.h.send(body);
    await f.h.idle();
    expect((await f.h.dlq()).filter((e) => e.body === body)[0]?.failure).toMatchObject({
      code: 'NoMatchingRule',
    });

    // Act: store the rule and replay at once (the rules cache is 30 s; the clock does not move).
    await f.h.putRules(lifecycleRules(source));
    const replay = await cli(['dlq', 'replay', '--code', 'NoMatchingRule', '--source', source]);
    await f.h.idle();

    // Assess
    expect(replay).toMatchObject({ code: 0, err: '' });
    expect(taskOf(source, '8')).toEqual([expect.objectContaining({ Name: 'Case 8: first' })]);
    expect((await f.h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });

  it('gives an EXHAUSTED message a fresh redrive budget when ops replay it', async () => {
    // Prepare: an EXHAUSTED message that used up every attempt long ago, and a full instance.
    const source = 'com.example.lc-exhausted';
    await f.h.putRules(lifecycleRules(source));
    const body = event(source, 'opened', '9', 'o-9', T(0));
    const long = now() - 30 * 24 * 3600 * 1000;
    const parked = buildDlqMessage({
      body,
      attributes: {},
      messageId: 'exhausted-9',
      previous: previousFailure(long, { attempts: 25, redriveCount: 25, originalMessageId: 'exhausted-9' }),
      failure: {
        class: 'EXHAUSTED',
        code: 'ServiceQuotaExceededException',
        message: 'redrive gave up',
        source,
      },
      now: long,
    });
    await f.h.clients.sqs.send(new SendMessageCommand({ QueueUrl: f.h.dlqUrl, ...parked }));
    await f.h.connectConfig({ activeTaskQuota: 0 });

    // Act 1: ops replay it; the quota answers 402 again.
    const replay = await cli(['dlq', 'replay', '--class', 'EXHAUSTED', '--source', source]);
    await f.h.idle();
    const [again] = (await f.h.dlq()).filter((e) => e.body === body);

    // Assess 1: parked OVER_QUOTA with a fresh count, not EXHAUSTED.
    expect(replay).toMatchObject({ code: 0, err: '' });
    expect(again?.failure).toMatchObject({ class: 'OVER_QUOTA', attempts: 1, redriveCount: 1 });
    expect(Date.parse(again?.failure?.budgetFrom ?? '')).toBeGreaterThan(long);

    // Act 2: the quota frees; the scheduled redrive replays it when due instead of giving up.
    await f.h.connectConfig({ activeTaskQuota: 2500 });
    await f.h.advanceClock(3600);
    const scheduled = await f.redrive();
    await f.h.idle();

    // Assess 2
    expect(scheduled).toMatchObject({ exhausted: 0 });
    expect(scheduled.replayed).toBeGreaterThanOrEqual(1);
    expect(taskOf(source, '9')).toEqual([expect.objectContaining({ Name: 'Case 9: first' })]);
  });
});
