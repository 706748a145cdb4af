/**
 * The redrive and the ingest under faults and limits, on the sandbox: a crash between the redrive's
 * send and its delete creates no second task, the redrive gives up (EXHAUSTED) after
 * REDRIVE_MAX_ATTEMPTS and leaves the message for ops, and ingest parks a transient failure as
 * TRANSIENT on its parking attempt, two before the last receive its queue allows
 * (INGEST_MAX_RECEIVE_COUNT, which must equal the ingest queue's maxReceiveCount), instead of letting
 * SQS move it to the DLQ without a record; the schedule replays it for REDRIVE_TRANSIENT_ROUNDS rounds
 * on its own backoff, then leaves it EXHAUSTED for ops.
 */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '#cli/main.ts';
import { parkingReceive } from '#lib/ingest/receives.ts';
import { type RedriveSummary, runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort, type SqsPort } from '#lib/redrive/sqs-port.ts';
import { FLOW_ID, type Harness, INSTANCE_ID, startHarness } from '#test/support/harness.ts';

const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
const REDRIVE_MAX_ATTEMPTS = 2;
/** Rounds the schedule replays a TRANSIENT message before it is left for ops. */
const REDRIVE_TRANSIENT_ROUNDS = 1;
/** Past any transient redrive round's due time (backoff base 300 s, two rounds: at most 1,200 s). */
const PAST_TRANSIENT_ROUND_SECONDS = 1_201;
/** Below the ingest queue's maxReceiveCount (8), so the test also shows the value comes from configuration. */
const INGEST_MAX_RECEIVE_COUNT = 4;
/** Past any over-quota backoff of the first two parkings (base 60 s: at most 240 s). */
const PAST_BACKOFF_SECONDS = 300;
const SOURCE = 'com.example.faults';

class SimulatedCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulatedCrashError';
  }
}

function event(id: string): string {
  return JSON.stringify({
    specversion: '1.0',
    source: SOURCE,
    id,
    type: 'com.example.faults.happened',
    data: {},
  });
}

describe('redrive and ingest under faults and limits', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        START_TASK_RATE: '1000',
        INGEST_MAX_RECEIVE_COUNT: String(INGEST_MAX_RECEIVE_COUNT),
        TRANSIENT_BACKOFF_BASE_SECONDS: '1',
        TRANSIENT_BACKOFF_MAX_SECONDS: '4',
      },
    });
    // The redrive function reads its configuration when the scheduler first loads it, after the
    // pipeline applied serverless.yml's environment: set the limit under test after that.
    process.env.REDRIVE_MAX_ATTEMPTS = String(REDRIVE_MAX_ATTEMPTS);
    process.env.REDRIVE_TRANSIENT_ROUNDS = String(REDRIVE_TRANSIENT_ROUNDS);
    await h.putRules([
      {
        source: SOURCE,
        ruleId: 'faults',
        priority: 10,
        action: 'create',
        instanceId: INSTANCE_ID,
        target: { contactFlowId: FLOW_ID },
        mapping: { name: "'Faults event ' & id" },
      },
    ]);
  });

  afterEach(async () => {
    await h.connectConfig({ activeTaskQuota: 2500, errorRates: { StartTaskContact: {} } });
    for (const queueUrl of [h.dlqUrl, h.ingestQueueUrl]) {
      await h.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    }
  });

  afterAll(async () => {
    await h.stop();
  });

  const scheduledRedrive = async () => (await h.pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary;
  const tasksFor = (id: string) => h.tasks().filter((t) => t.Name === `Faults event ${id}`);

  /** Sends one event while the active-task quota is 0, so it is parked OVER_QUOTA; then lifts the quota. */
  async function parkOverQuota(id: string): Promise<void> {
    await h.connectConfig({ activeTaskQuota: 0 });
    await h.send(event(id));
    await h.idle();
    await h.connectConfig({ activeTaskQuota: 2500 });
  }

  function redriveWith(sqs: SqsPort) {
    return runRedrive(
      {
        sqs,
        dlqUrl: h.dlqUrl,
        ingestQueueUrl: h.ingestQueueUrl,
        limits: { maxAttempts: REDRIVE_MAX_ATTEMPTS, maxAgeSeconds: 86_400 },
        now: h.sandbox.clock.now,
      },
      { mode: 'scheduled' },
    );
  }

  it('creates no second task when the redrive crashes after sending a replay and before deleting it', async () => {
    // Prepare: the replay reaches the ingest queue, then the "process" dies before the delete.
    await parkOverQuota('crash-1');
    await h.advanceClock(PAST_BACKOFF_SECONDS);
    const real = createSqsPort(h.clients.sqs);
    const crashing: SqsPort = {
      ...real,
      async send(queueUrl, message) {
        const sent = await real.send(queueUrl, message);
        if (queueUrl === h.ingestQueueUrl) throw new SimulatedCrashError('crashed after SendMessage');
        return sent;
      },
    };

    // Act: the crashed run, ingest, then the next scheduled run finds the message still in the DLQ.
    const crashed = await redriveWith(crashing);
    await h.idle();
    const tasksAfterCrash = tasksFor('crash-1').length;
    const next = await scheduledRedrive();
    await h.idle();

    // Assess: one task; the next run finds it and deletes the copy instead of replaying it again.
    expect(crashed.problems).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/SimulatedCrashError/) }),
    ]);
    expect(tasksAfterCrash).toBe(1);
    expect(next).toMatchObject({ replayed: 0, superseded: 1, problems: [] });
    expect(tasksFor('crash-1')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });

  it('creates no second task when the DLQ delete fails after the replay was sent', async () => {
    // Prepare
    await parkOverQuota('crash-2');
    await h.advanceClock(PAST_BACKOFF_SECONDS);
    const real = createSqsPort(h.clients.sqs);
    const failingDelete: SqsPort = {
      ...real,
      async delete() {
        throw new SimulatedCrashError('DeleteMessage lost');
      },
    };

    // Act: the copy left in the DLQ comes back once the run's hold ends; its task exists by then.
    const first = await redriveWith(failingDelete);
    await h.idle();
    await h.advanceClock(PAST_BACKOFF_SECONDS);
    const second = await scheduledRedrive();
    await h.idle();

    // Assess
    expect(first.replayed).toBe(1);
    expect(first.problems).toEqual([
      expect.objectContaining({ problem: expect.stringMatching(/sent but not deleted/) }),
    ]);
    expect(second).toMatchObject({ replayed: 0, superseded: 1, problems: [] });
    expect(tasksFor('crash-2')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });

  it('marks an over-quota message EXHAUSTED after REDRIVE_MAX_ATTEMPTS and leaves it in the DLQ for ops', async () => {
    // Prepare: the quota stays at 0, so every replay is parked again.
    await h.connectConfig({ activeTaskQuota: 0 });
    await h.send(event('exhaust-1'));
    await h.idle();

    // Act: the schedule runs after each backoff.
    const runs: RedriveSummary[] = [];
    for (let i = 0; i < 4; i += 1) {
      await h.advanceClock(PAST_BACKOFF_SECONDS);
      runs.push(await scheduledRedrive());
      await h.idle();
    }
    const left = await h.dlq();

    // Assess: replayed once, parked again (attempt 2 = the limit), given up, then left alone.
    expect(runs.map((r) => [r.replayed, r.exhausted, r.skipped])).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 1],
    ]);
    expect(left).toHaveLength(1);
    expect(left[0]?.failure).toMatchObject({
      class: 'EXHAUSTED',
      code: 'ServiceQuotaExceededException',
      attempts: REDRIVE_MAX_ATTEMPTS,
      redriveCount: 1,
      eventId: 'exhaust-1',
    });
    expect(left[0]?.failure?.message).toMatch(/^redrive gave up after 2 attempts \(limit 2\)/);
    expect(left[0]?.failure?.nextAttemptAt).toBeUndefined();
    expect(tasksFor('exhaust-1')).toHaveLength(0);
  });

  /** Lets each transient backoff run out until the message leaves the ingest queue for the DLQ. */
  async function untilParked(): Promise<Awaited<ReturnType<Harness['dlq']>>> {
    let parked = await h.dlq();
    for (let i = 0; i < 2 * INGEST_MAX_RECEIVE_COUNT && parked.length === 0; i += 1) {
      await h.advanceClock(10);
      await h.idle({ includeInvisible: false });
      parked = await h.dlq();
    }
    return parked;
  }

  it('parks a transient failure as TRANSIENT on its parking attempt; the schedule replays it on its backoff for its rounds, then leaves it EXHAUSTED for ops, who can replay it', async () => {
    // Prepare: every StartTaskContact fails with a 500 (TRANSIENT).
    await h.connectConfig({ errorRates: { StartTaskContact: { InternalServiceException: 1 } } });
    const messageId = await h.send(event('throttled-1'));

    // Act 1: the retries in place run out; the schedule runs before the first round is due.
    const parked = await untilParked();
    const early = await scheduledRedrive();

    // Assess 1: parked by ingest with a record (not moved bare by SQS), due for a redrive round.
    expect(parked).toHaveLength(1);
    expect(parked[0]?.problem).toBeUndefined();
    expect(parked[0]?.failure).toMatchObject({
      class: 'TRANSIENT',
      code: 'InternalServiceException',
      originalMessageId: messageId,
      eventId: 'throttled-1',
      source: SOURCE,
      ruleId: 'faults',
      attempts: 1,
    });
    expect(parked[0]?.failure?.nextAttemptAt).toBeDefined();
    expect(parked[0]?.failure?.message).toMatch(
      new RegExp(
        `^retried in place ${parkingReceive(INGEST_MAX_RECEIVE_COUNT)} times \\(maxReceiveCount ${INGEST_MAX_RECEIVE_COUNT}\\)`,
      ),
    );
    expect(early).toMatchObject({ replayed: 0, deferred: 1, skipped: 0, problems: [] });

    // Act 2: the round comes due and the schedule replays it; Connect still fails, so ingest parks it again.
    await h.advanceClock(PAST_TRANSIENT_ROUND_SECONDS);
    const round = await scheduledRedrive();
    await h.idle({ includeInvisible: false });
    const again = await untilParked();

    // Assess 2: one round spent.
    expect(round).toMatchObject({ replayed: 1, problems: [] });
    expect(again[0]?.failure).toMatchObject({ class: 'TRANSIENT', transientRounds: 1, attempts: 2 });

    // Act 3: its rounds spent, the schedule gives up; it then leaves the message alone.
    await h.advanceClock(PAST_TRANSIENT_ROUND_SECONDS);
    const givenUp = await scheduledRedrive();
    const after = await scheduledRedrive();
    const left = await h.dlq();

    // Assess 3: EXHAUSTED, saying why, for ops.
    expect(givenUp).toMatchObject({ replayed: 0, exhausted: 1, problems: [] });
    expect(after).toMatchObject({ replayed: 0, exhausted: 0, skipped: 1 });
    expect(left).toHaveLength(1);
    expect(left[0]?.failure).toMatchObject({ class: 'EXHAUSTED', code: 'InternalServiceException' });
    expect(left[0]?.failure?.message).toMatch(
      /^redrive gave up after 1 redrive rounds of transient failures \(limit 1, REDRIVE_TRANSIENT_ROUNDS\)/,
    );
    expect(tasksFor('throttled-1')).toHaveLength(0);

    // Act 4: Connect recovers; ops replay the exhausted messages.
    await h.connectConfig({ errorRates: { StartTaskContact: {} } });
    const out: string[] = [];
    const code = await run(['--endpoint', h.endpoint, 'dlq', 'replay', '--class', 'EXHAUSTED'], {
      io: { stdout: (t) => out.push(t), stderr: () => {}, readStdin: async () => '' },
      env: {},
    });
    await h.idle();

    // Assess 4
    expect(code).toBe(0);
    expect(out.join('')).toContain('replayed 1, skipped 0, problems 0');
    expect(tasksFor('throttled-1')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });

  it('replays a TRANSIENT message when its round is due, and it becomes a task once Connect recovers', async () => {
    // Prepare: the retries in place run out while Connect fails.
    await h.connectConfig({ errorRates: { StartTaskContact: { InternalServiceException: 1 } } });
    await h.send(event('recovers-1'));
    const parked = await untilParked();
    await h.connectConfig({ errorRates: { StartTaskContact: {} } });

    // Act: nobody does anything but the schedule.
    await h.advanceClock(PAST_TRANSIENT_ROUND_SECONDS);
    const round = await scheduledRedrive();
    await h.idle();

    // Assess
    expect(parked[0]?.failure).toMatchObject({ class: 'TRANSIENT', code: 'InternalServiceException' });
    expect(round).toMatchObject({ replayed: 1, problems: [] });
    expect(tasksFor('recovers-1')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });
});
