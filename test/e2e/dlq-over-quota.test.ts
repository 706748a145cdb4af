/**
 * The DLQ-with-backoff story end to end on the sandbox: Connect's active-task quota turns away part of
 * a burst, the turned-away messages wait in the DLQ with `nextAttemptAt`, the tasks complete, and the
 * scheduled redrive function (functions/redrive.ts, invoked the way EventBridge would) brings them
 * back when due, until every event is exactly one task. Contact events are all lost here, so no freed
 * slot brings an event back early: the timer is the only way back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedriveSummary } from '#lib/redrive/redrive.ts';
import { FLOW_ID, type Harness, INSTANCE_ID, startHarness } from '#test/support/harness.ts';

const SOURCE = 'com.example.dlq-story';
const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
const MESSAGES = 120;
const ACTIVE_TASK_QUOTA = 50;
/** Tasks end this long after they start (emulator clock). */
const TASK_LIFETIME_SECONDS = 300;
/** Past every task's end and past the largest first backoff (OVER_QUOTA_BACKOFF_* 60..3600 s: 120 s). */
const CLOCK_STEP_SECONDS = 400;

const rule = {
  source: SOURCE,
  ruleId: 'story',
  priority: 10,
  action: 'create',
  instanceId: INSTANCE_ID,
  target: { contactFlowId: FLOW_ID },
  mapping: { name: "'Story event ' & data.n", attributes: { n: '$string(data.n)' } },
};

function cloudEvent(n: number): string {
  return JSON.stringify({
    specversion: '1.0',
    source: SOURCE,
    id: `story-${String(n).padStart(3, '0')}`,
    type: 'com.example.story.happened',
    time: '2024-05-01T09:30:00Z',
    data: { n },
  });
}

describe('over-quota messages parked in the DLQ and redriven with backoff', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { START_TASK_RATE: '1000' } });
    await h.putRules([rule]);
    await h.connectConfig({
      activeTaskQuota: ACTIVE_TASK_QUOTA,
      autoCompleteAfterSeconds: TASK_LIFETIME_SECONDS,
      // Every contact event lost: no freed slot releases a waiting event, so this is the timer's
      // story, the fallback (test/integration/capacity-redrive.test.ts tells the event-driven one).
      contactEvents: { dropRate: 1 },
    });
  });

  afterAll(async () => {
    await h.stop();
  });

  const redrive = async () => (await h.pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary;

  it('turns 120 events into 120 tasks, each exactly once, through the quota, the DLQ and the scheduled redrive', async () => {
    // Prepare: a burst of 120 events against an active-task quota of 50.
    await h.sendBatch(Array.from({ length: MESSAGES }, (_, n) => ({ body: cloudEvent(n) })));

    // Act 1: the burst is ingested.
    await h.idle();

    // Assess 1: 50 tasks, 70 parked as OVER_QUOTA with a due time.
    expect(h.tasks()).toHaveLength(ACTIVE_TASK_QUOTA);
    const parked = await h.dlq();
    expect(parked).toHaveLength(MESSAGES - ACTIVE_TASK_QUOTA);
    for (const entry of parked) {
      expect(entry.problem).toBeUndefined();
      expect(entry.failure).toMatchObject({
        class: 'OVER_QUOTA',
        code: 'ServiceQuotaExceededException',
        source: SOURCE,
        ruleId: 'story',
        attempts: 1,
        redriveCount: 0,
      });
      expect(Date.parse(entry.failure?.nextAttemptAt ?? '')).toBeGreaterThan(
        Date.parse(entry.failure?.lastFailureAt ?? ''),
      );
    }

    // Act 2: the schedule fires before anything is due.
    const early = await redrive();
    await h.idle();

    // Assess 2: nothing replayed, everything deferred to its own due time.
    expect(early).toMatchObject({ replayed: 0, deferred: MESSAGES - ACTIVE_TASK_QUOTA, problems: [] });
    expect(h.tasks()).toHaveLength(ACTIVE_TASK_QUOTA);

    // Act 3: time passes (tasks complete, backoffs run out) and the schedule fires, until the DLQ
    // holds no OVER_QUOTA message. Each round admits at most the quota; the rest is parked again.
    const rounds: RedriveSummary[] = [];
    for (let round = 0; round < 6; round += 1) {
      await h.advanceClock(CLOCK_STEP_SECONDS);
      const waiting = (await h.dlq()).filter((e) => e.failure?.class === 'OVER_QUOTA');
      if (waiting.length === 0) break;
      rounds.push(await redrive());
      await h.idle();
    }

    // Assess 3: every event is exactly one task; the DLQ is empty.
    const tasks = h.tasks();
    expect(tasks).toHaveLength(MESSAGES);
    expect(new Set(tasks.map((t) => t.ClientToken)).size).toBe(MESSAGES);
    expect(new Set(tasks.map((t) => t.Name)).size).toBe(MESSAGES);
    expect(tasks.map((t) => t.Name).sort()).toEqual(
      Array.from({ length: MESSAGES }, (_, n) => `Story event ${n}`).sort(),
    );
    expect(await h.dlq()).toEqual([]);
    // 70 waited: 50 fit in the first redrive round and 20 in the second (parked once more in between).
    expect(rounds.map((r) => r.replayed)).toEqual([70, 20]);
    expect(rounds.every((r) => r.problems.length === 0 && r.exhausted === 0)).toBe(true);
  });
});
