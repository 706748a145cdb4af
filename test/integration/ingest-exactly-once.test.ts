/**
 * Exactly once under failure: a crash between StartTaskContact and the SQS delete, a response that
 * Connect lost, an over-quota park and a DLQ replay (even a replay sent twice) never create a second
 * task for one event.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { toReplayMessage } from '#lib/retry/dlq-message.ts';
import type { IngestHandler } from '#test/support/harness.ts';
import {
  followUpEvent,
  followUpRule,
  QUEUE_VISIBILITY_SECONDS,
  useHarness,
} from '#test/support/sandbox-fixture.ts';

const ruleFor = (source: string) => followUpRule(source, { mapping: { attributes: { ref: 'data.ref' } } });
const cloudEvent = (source: string, id: string) => followUpEvent(source, id);

describe('ingest exactly once', () => {
  /** Bodies whose next invocation crashes after the handler did its work (before the poller deletes). */
  const crashAfter = new Set<string>();
  const crashed: string[] = [];

  const f = useHarness(
    {
      env: { START_TASK_RATE: '1000' },
      wrapIngest:
        (handler: IngestHandler): IngestHandler =>
        async (event, context) => {
          const response = await handler(event, context);
          const victim = event.Records.find((r) => crashAfter.delete(r.body));
          if (victim) {
            crashed.push(victim.body);
            f.h.notify();
            throw new Error('simulated crash: the function died before the poller deleted the batch');
          }
          return response;
        },
    },
    (h) => h.putRules(['crash', 'lost', 'quota', 'replay'].map((name) => ruleFor(`com.example.${name}`))),
  );
  const statuses = (body: string) => f.h.statuses(body);
  const receiveCounts = (body: string) =>
    f.h.outcomes
      .filter((s) => s.record.body === body)
      .map((s) => Number(s.record.attributes.ApproximateReceiveCount));
  const tasksWith = (token: string) => f.tasksWith(token);
  const startCalls = (outcome: string) => f.calls(outcome);
  /** Sends `body` while the instance allows no active task, and waits until the pipeline is idle. */
  async function sendOverQuota(body: string): Promise<void> {
    await f.h.connectConfig({ activeTaskQuota: 0 });
    try {
      await f.h.send(body);
      await f.h.idle();
    } finally {
      await f.h.connectConfig({ activeTaskQuota: 2500 });
    }
  }

  it('creates no second task when the function crashes after StartTaskContact and before the delete', async () => {
    // Prepare
    const body = cloudEvent('com.example.crash', 'crash-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.crash', 'crash-1');
    const callsBefore = startCalls('200');
    crashAfter.add(body);

    // Act: the first delivery creates the task, then the invocation dies; SQS delivers it again.
    await f.h.send(body);
    await f.h.until(() => crashed.includes(body), 'the simulated crash');
    await f.h.advanceClock(QUEUE_VISIBILITY_SECONDS + 1);
    await f.h.idle();

    // Assess
    expect(statuses(body)).toEqual(['created', 'duplicate']);
    expect(receiveCounts(body)).toEqual([1, 2]);
    expect(tasksWith(token)).toHaveLength(1);
    // The idempotency record answered the redelivery: Connect was called once.
    expect(startCalls('200') - callsBefore).toBe(1);
  });

  it('creates no second task when Connect created the task but lost the response', async () => {
    // Prepare
    const body = cloudEvent('com.example.lost', 'lost-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.lost', 'lost-1');
    const lostBefore = startCalls('LostResponse');
    await f.h.connectConfig({ lostResponseRate: { StartTaskContact: 1 }, lostResponseMode: 'error' });

    // Act: every response of the first delivery is lost; the retry in place finds the task by its token.
    await f.h.send(body);
    await f.h.until(() => statuses(body).includes('retry'), 'the retry after the lost response');
    await f.h.connectConfig({ lostResponseRate: { StartTaskContact: 0 } });
    await f.h.advanceClock(2);
    await f.h.idle();

    // Assess
    expect(startCalls('LostResponse') - lostBefore).toBeGreaterThanOrEqual(1);
    expect(statuses(body)).toEqual(['retry', 'created']);
    expect(tasksWith(token)).toHaveLength(1);
    expect(tasksWith(token)[0]?.Name).toBe('Follow up lost-1');
  });

  it('parks a 402 over the active-task quota in the DLQ with nextAttemptAt and the ClientToken', async () => {
    // Prepare
    const body = cloudEvent('com.example.quota', 'quota-1');

    // Act
    await sendOverQuota(body);

    // Assess
    expect(statuses(body)).toEqual(['parked']);
    const entry = (await f.h.dlq()).find((e) => e.body === body);
    expect(entry?.failure).toMatchObject({
      class: 'OVER_QUOTA',
      code: 'ServiceQuotaExceededException',
      source: 'com.example.quota',
      eventId: 'quota-1',
      clientToken: taskClientToken(INSTANCE_ID, 'com.example.quota', 'quota-1'),
      attempts: 1,
    });
    // First park: due between the base (60 s) and twice the base after the failure.
    const failedAt = Date.parse(entry?.failure?.lastFailureAt ?? '');
    const dueAt = Date.parse(entry?.failure?.nextAttemptAt ?? '');
    expect(dueAt - failedAt).toBeGreaterThanOrEqual(60_000);
    expect(dueAt - failedAt).toBeLessThanOrEqual(120_000);
    expect(f.h.tasks().filter((t) => t.Name === 'Follow up quota-1')).toEqual([]);
  });

  it('keeps the ClientToken of a parked message through a DLQ replay, and a second replay creates no second task', async () => {
    // Prepare: park it over quota.
    const body = cloudEvent('com.example.replay', 'replay-1');
    const token = taskClientToken(INSTANCE_ID, 'com.example.replay', 'replay-1');
    await sendOverQuota(body);
    const parked = (await f.h.dlq()).find((e) => e.body === body);
    if (!parked?.failure) throw new Error('expected the over-quota message in the DLQ');

    // Act: the scheduled redrive replays it once due; then the same replay arrives again (a redrive
    // that crashed between its send and its delete).
    await f.h.advanceClock(121);
    const summary = await runRedrive(
      {
        sqs: createSqsPort(f.h.clients.sqs),
        dlqUrl: f.h.dlqUrl,
        ingestQueueUrl: f.h.ingestQueueUrl,
        limits: { maxAttempts: 5, maxAgeSeconds: 86_400 },
        now: f.h.sandbox.clock.now,
      },
      { mode: 'scheduled', filter: { source: 'com.example.replay' } },
    );
    await f.h.idle();
    await f.h.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: f.h.ingestQueueUrl,
        ...toReplayMessage(parked, { redriveCount: 1 }),
      }),
    );
    await f.h.idle();

    // Assess
    expect(parked.failure.clientToken).toBe(token);
    expect(summary.replayed).toBe(1);
    expect(statuses(body)).toEqual(['parked', 'created', 'duplicate']);
    expect(tasksWith(token)).toHaveLength(1);
    expect((await f.h.dlq()).filter((e) => e.body === body)).toEqual([]);
  });
});
