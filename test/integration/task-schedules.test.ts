/**
 * Task schedules on the sandbox, with the real SDK clients: the sandbox scheduler sends each
 * occurrence of serverless.yml's task schedules to the ingest queue on the movable clock, and the
 * real ingest function turns each occurrence into exactly one task.
 */
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '#cli/io.ts';
import { run } from '#cli/main.ts';
import { occurrenceId } from '#lib/idempotency/ids.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import { parseTaskSchedules } from '#lib/schedules/declaration.ts';
import { formatScheduledTime } from '#lib/schedules/expression.ts';
import { startTaskScheduler } from '#sandbox/task-scheduler.ts';
import { type Harness, INSTANCE_ID, startHarness } from '#test/support/harness.ts';

const SOURCE = 'com.example.calendar';

describe('task schedules on the sandbox (movable clock, real SDK clients)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ pipeline: { taskSchedules: true } });
    await h.putRules([h.sampleRule('calendar-schedules.json')]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const scheduler = () => {
    if (!h.pipeline) throw new Error('the harness runs no pipeline');
    return h.pipeline.taskSchedules;
  };
  const nextAt = (name: string) => {
    const info = scheduler()
      .list()
      .find((s) => s.name === name);
    if (!info?.nextAt) throw new Error(`${name} has no next occurrence`);
    return Date.parse(info.nextAt);
  };
  const scheduledTasks = () => h.tasks().filter((t) => t.Name === 'Check the overnight escalations');

  it('makes one task per occurrence: a duplicate delivery adds none, the next occurrence adds one', async () => {
    // Prepare: the clock moves to the weekday schedule's next occurrence.
    const first = nextAt('weekday-escalations');
    await h.advanceClock(Math.ceil((first - h.sandbox.clock.now()) / 1000));
    await h.idle();
    expect(scheduledTasks()).toHaveLength(1);

    // Act: the same occurrence delivered again (a Scheduler retry, a duplicate SQS delivery)...
    await scheduler().deliver('weekday-escalations', first);
    await h.idle();
    const afterDuplicate = scheduledTasks().length;
    // ...and the clock moves on to the next occurrence.
    const second = nextAt('weekday-escalations');
    await h.advanceClock(Math.ceil((second - h.sandbox.clock.now()) / 1000));
    await h.idle();

    // Assess
    expect(afterDuplicate).toBe(1);
    const tasks = scheduledTasks();
    expect(tasks).toHaveLength(2);
    const tokens = [first, second].map((ms) =>
      taskClientToken(INSTANCE_ID, SOURCE, occurrenceId('weekday-escalations', formatScheduledTime(ms))),
    );
    expect(new Set(tokens).size).toBe(2);
    const ledger = new DynamoLedger({
      client: h.clients.dynamodb,
      tableName: h.sandbox.environment.LEDGER_TABLE as string,
    });
    const entries = await Promise.all(tokens.map((token) => ledger.get(token)));
    expect(entries.map((e) => e?.contactId).sort()).toEqual(tasks.map((t) => t.ContactId).sort());
    expect(tasks.every((t) => t.Attributes?.scheduledFor !== undefined)).toBe(true);
    expect((await h.dlq()).filter((d) => d.failure?.source === SOURCE)).toEqual([]);
  });

  it('shows the task of each past occurrence with task-ingest schedules show', async () => {
    // Act
    const out: string[] = [];
    const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => out.push(t), readStdin: async () => '' };
    const code = await run(
      ['--endpoint', h.endpoint, 'schedules', 'show', 'weekday-escalations', '--past', '3'],
      { io, env: {} },
    );

    // Assess: the two occurrences the clock passed made tasks; the one before the sandbox started did not.
    const text = out.join('');
    expect(code, text).toBe(0);
    const contactIds = scheduledTasks().map((t) => t.ContactId);
    for (const id of contactIds) expect(text).toContain(`task ${id}`);
    expect(text).toContain('no task');
  });

  it('fires a one-time schedule once, and a schedule past its end date no more', async () => {
    // Prepare: a one-time schedule 2 hours ahead and an hourly schedule that ends 3 hours ahead.
    const start = h.sandbox.clock.now();
    const local = new Date(start + 2 * 3_600_000).toISOString().slice(0, 19);
    const end = new Date(Math.ceil((start + 3 * 3_600_000) / 3_600_000) * 3_600_000).toISOString();
    const schedules = parseTaskSchedules([
      {
        name: 'once',
        expression: `at(${local})`,
        timezone: 'UTC',
        event: { source: 'test.once', type: 't' },
      },
      {
        name: 'hourly-until',
        expression: 'cron(0 * * * ? *)',
        timezone: 'UTC',
        endDate: end,
        event: { source: 'test.hourly', type: 't' },
      },
    ]);
    // A queue no function polls: only the scheduler's sends are counted.
    const probe = await h.clients.sqs.send(new CreateQueueCommand({ QueueName: 'task-schedules-probe' }));
    const s = startTaskScheduler({
      schedules,
      sqs: h.clients.sqs,
      queueUrl: probe.QueueUrl as string,
      clock: h.sandbox.clock,
    });
    try {
      // Act: ten hours pass, one at a time, and then a whole day at once.
      for (let hour = 0; hour < 10; hour += 1) {
        await h.advanceClock(3600);
        await s.flush();
      }
      await h.advanceClock(86_400);
      await s.flush();

      // Assess
      const sent = Object.fromEntries(s.list().map((i) => [i.name, i]));
      expect(sent.once?.sentCount).toBe(1);
      expect(sent.once?.sent).toEqual([`${local}Z`]);
      expect(sent.once?.nextAt).toBeNull();
      // The three full hours between the start and the end date (the end date itself is excluded).
      expect(sent['hourly-until']?.sentCount).toBe(3);
      expect(sent['hourly-until']?.sent.every((t) => Date.parse(t) < Date.parse(end))).toBe(true);
      expect(sent['hourly-until']?.nextAt).toBeNull();
    } finally {
      await s.stop();
    }
  });
});
