/**
 * Redrive when capacity frees, end to end on the sandbox with the real functions: the Connect
 * emulator's active-task quota is 4; 12 events arrive; an agent completes the tasks one by one through
 * the sandbox's agent route; each COMPLETED contact event, through the contact events rule, the queue
 * and the contactEvents function, sends the oldest waiting event back at once. All 12 are created,
 * none waits for its timer (the scheduled redrive never runs), and no StartTaskContact is refused with
 * 402 after the first wave.
 */
import { describe, expect, it } from 'vitest';
import { followUpEvent, followUpRule, useHarness } from '#test/support/sandbox-fixture.ts';

const SOURCE = 'com.example.capacity';
const QUOTA = 4;
const EVENTS = 12;

describe('redrive when capacity frees', () => {
  const f = useHarness({ env: { START_TASK_RATE: '1000' } }, async (h) => {
    await h.putRules([followUpRule(SOURCE)]);
    await h.connectConfig({ activeTaskQuota: QUOTA });
  });

  const active = () => f.h.tasks().filter((t) => t.State === 'ACTIVE');

  /** What an agent does: accept the task, then complete it. */
  async function complete(contactId: string) {
    for (const action of ['accept', 'complete']) {
      const res = await fetch(`${f.h.endpoint}/_sandbox/contacts/${contactId}/${action}`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status, action).toBe(200);
    }
  }

  it('creates every parked event as slots free, one per completed task, without the timer and without a 402', async () => {
    // Prepare: the first wave fills the quota and parks the rest OVER_QUOTA, each with a waiter.
    for (let i = 0; i < EVENTS; i += 1) await f.h.send(followUpEvent(SOURCE, `cap-${i}`));
    await f.h.idle();
    const refusedInFirstWave = f.calls('ServiceQuotaExceededException');
    expect(f.h.tasks()).toHaveLength(QUOTA);
    expect(refusedInFirstWave).toBe(EVENTS - QUOTA);

    // Act: an agent completes one task at a time; each freed slot brings the oldest waiting event back.
    // The harness runs no schedule, so no OVER_QUOTA timer can bring anything back.
    for (let created = QUOTA; created < EVENTS; created += 1) {
      const [task] = active();
      if (!task) throw new Error('no active task to complete');
      await complete(task.ContactId);
      await f.h.until(
        () => f.h.tasks().length === created + 1,
        `task ${created + 1} created after a slot freed`,
      );
    }
    await f.h.idle();

    // Assess
    expect(f.h.tasks()).toHaveLength(EVENTS);
    expect(new Set(f.h.tasks().map((t) => t.ClientToken)).size).toBe(EVENTS);
    expect(f.calls('ServiceQuotaExceededException')).toBe(refusedInFirstWave);
    expect(f.calls('200')).toBe(EVENTS);
    expect(f.h.sandbox.connect.callCounts().StartTaskContact).toEqual({
      '200': EVENTS,
      ServiceQuotaExceededException: EVENTS - QUOTA,
    });
    // Eight rounds of contact event → release → ingest, each through two pollers' batching windows.
  }, 90_000);
});
