/**
 * What ops see and do with the DLQ on the sandbox: the scheduled redrive leaves PERMANENT failures
 * alone, `dlq replay` brings them back after the rule is fixed, `--dry-run` changes nothing, and a
 * DLQ message without a readable failure record is reported, never dropped.
 *
 * The scheduled redrive is the real functions/redrive.ts run by the sandbox scheduler; the CLI runs
 * in-process (`run` from cli/main.ts) against the sandbox's edge endpoint.
 */
import { GetQueueAttributesCommand, PurgeQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '#cli/main.ts';
import { type RedriveSummary, runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import { FAILURE_ATTRIBUTE } from '#lib/retry/failure-record.ts';
import { type DlqEntry, FLOW_ID, type Harness, INSTANCE_ID, startHarness } from '#test/support/harness.ts';

const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
const MISSING_FLOW_ID = 'f1a2b3c4-0000-4000-8000-0000000000ff';
/** Past the rules cache (RULES_CACHE_SECONDS 30) and any first over-quota backoff (≤ 120 s). */
const PAST_CACHES_AND_BACKOFF_SECONDS = 200;

function createRule(source: string, contactFlowId: string) {
  return {
    source,
    ruleId: 'ops',
    priority: 10,
    action: 'create',
    instanceId: INSTANCE_ID,
    target: { contactFlowId },
    mapping: { name: "'Ops event ' & id" },
  };
}

function event(source: string, id: string): string {
  return JSON.stringify({ specversion: '1.0', source, id, type: 'com.example.ops.happened', data: {} });
}

/** What must not change in a DLQ message (its receive count does change whenever it is read). */
function contents(entries: DlqEntry[]) {
  return entries
    .map(({ messageId, body, attributes, failure, problem }) => ({
      messageId,
      body,
      attributes,
      failure,
      problem,
    }))
    .sort((a, b) => a.messageId.localeCompare(b.messageId));
}

describe('DLQ operations on the sandbox', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { START_TASK_RATE: '1000' } });
  });

  afterEach(async () => {
    await h.connectConfig({ activeTaskQuota: 2500 });
    for (const queueUrl of [h.dlqUrl, h.ingestQueueUrl]) {
      await h.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    }
  });

  afterAll(async () => {
    await h.stop();
  });

  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['--endpoint', h.endpoint, ...argv], {
      io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' },
      env: {},
    });
    return { code, out: out.join(''), err: err.join('') };
  }

  const scheduledRedrive = async () => (await h.pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary;
  const tasksNamed = (prefix: string) => h.tasks().filter((t) => t.Name?.startsWith(prefix));

  async function ingestQueueDepth(): Promise<number> {
    const out = await h.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: h.ingestQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(out.Attributes?.ApproximateNumberOfMessages) +
      Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }

  it('leaves PERMANENT failures to the scheduled redrive and turns them into tasks when ops replay them after a rule fix', async () => {
    // Prepare: a rule pointing at a contact flow that does not exist (404 → PERMANENT).
    const source = 'com.example.ops-permanent';
    await h.putRules([createRule(source, MISSING_FLOW_ID)]);
    const ids = ['perm-1', 'perm-2', 'perm-3'];
    await h.sendBatch(ids.map((id) => ({ body: event(source, id) })));
    await h.idle();
    const parked = await h.dlq();
    await h.advanceClock(PAST_CACHES_AND_BACKOFF_SECONDS);

    // Act 1: the schedule runs.
    const scheduled = await scheduledRedrive();
    await h.idle();
    const afterSchedule = await h.dlq();

    // Assess 1: untouched.
    expect(parked.map((e) => e.failure)).toEqual(
      ids.map(() =>
        expect.objectContaining({ class: 'PERMANENT', code: 'ResourceNotFoundException', ruleId: 'ops' }),
      ),
    );
    expect(scheduled).toMatchObject({ replayed: 0, permanentUntouched: 3, problems: [] });
    expect(contents(afterSchedule)).toEqual(contents(parked));
    expect(tasksNamed('Ops event perm-')).toHaveLength(0);

    // Act 2: ops fix the rule and replay the permanent failures of that source.
    await h.putRules([createRule(source, FLOW_ID)]);
    await h.advanceClock(PAST_CACHES_AND_BACKOFF_SECONDS);
    const replay = await cli(['dlq', 'replay', '--class', 'PERMANENT', '--source', source]);
    await h.idle();

    // Assess 2: one task per event, the DLQ empty.
    expect(replay).toMatchObject({ code: 0, err: '' });
    expect(replay.out).toContain('replayed 3, skipped 0, problems 0');
    expect(
      tasksNamed('Ops event perm-')
        .map((t) => t.Name)
        .sort(),
    ).toEqual(ids.map((id) => `Ops event ${id}`));
    expect(await h.dlq()).toEqual([]);
  });

  it('changes nothing on a dry run: DLQ contents and the ingest queue stay as they were and no task is created', async () => {
    // Prepare: one PERMANENT and two OVER_QUOTA messages, all due.
    const source = 'com.example.ops-dry-run';
    await h.putRules([createRule(source, MISSING_FLOW_ID), createRule(`${source}.quota`, FLOW_ID)]);
    await h.connectConfig({ activeTaskQuota: 0 });
    await h.sendBatch([
      { body: event(source, 'dry-1') },
      { body: event(`${source}.quota`, 'dry-2') },
      { body: event(`${source}.quota`, 'dry-3') },
    ]);
    await h.idle();
    await h.connectConfig({ activeTaskQuota: 2500 });
    await h.advanceClock(PAST_CACHES_AND_BACKOFF_SECONDS);
    const before = await h.dlq();
    const deps = {
      sqs: createSqsPort(h.clients.sqs),
      dlqUrl: h.dlqUrl,
      ingestQueueUrl: h.ingestQueueUrl,
      limits: { maxAttempts: 20, maxAgeSeconds: 86_400 },
      now: h.sandbox.clock.now,
    };

    // Act
    const cliDryRun = await cli(['dlq', 'replay', '--dry-run']);
    const scheduledDryRun = await runRedrive(deps, { mode: 'scheduled', dryRun: true });
    await h.idle();
    const after = await h.dlq();

    // Assess
    expect(before.map((e) => e.failure?.class).sort()).toEqual(['OVER_QUOTA', 'OVER_QUOTA', 'PERMANENT']);
    expect(cliDryRun.code).toBe(0);
    expect(cliDryRun.out).toContain('would replay 3, skipped 0, problems 0');
    expect(scheduledDryRun).toMatchObject({ dryRun: true, replayed: 2, permanentUntouched: 1 });
    expect(contents(after)).toEqual(contents(before));
    expect(await ingestQueueDepth()).toBe(0);
    expect(tasksNamed('Ops event dry-')).toHaveLength(0);
  });

  it('reports DLQ messages whose failure record is missing or corrupt and leaves them in the DLQ', async () => {
    // Prepare: what SQS's own redrive policy or a hand edit could leave in the DLQ.
    const record = (json: string) => ({ [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: json } });
    const validButAlien = JSON.stringify({ v: 1, class: 'LOST', code: 'X', message: 'hand-edited' });
    const bodies = [
      { body: 'moved by the redrive policy' },
      { body: '{"id":"corrupt-1"}', attributes: record('{not json') },
      { body: '{"id":"corrupt-2"}', attributes: record(validButAlien) },
    ];
    const sentIds: string[] = [];
    for (const { body, attributes } of bodies) {
      const out = await h.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: h.dlqUrl,
          MessageBody: body,
          ...(attributes ? { MessageAttributes: attributes } : {}),
        }),
      );
      sentIds.push(out.MessageId as string);
    }

    // Act
    const scheduled = await scheduledRedrive();
    const replay = await cli(['dlq', 'replay']);
    const list = await cli(['dlq', 'list']);
    await h.idle();
    const left = await h.dlq();

    // Assess: reported by the schedule, by the replay (exit code 1) and by the listing; nothing dropped.
    expect(scheduled.problems.map((p) => p.messageId).sort()).toEqual([...sentIds].sort());
    expect(scheduled.problems.map((p) => p.problem)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/no failure record/),
        expect.stringMatching(/is not JSON/),
        expect.stringMatching(/failure record is invalid/),
      ]),
    );
    expect(scheduled).toMatchObject({ replayed: 0, deferred: 0, exhausted: 0 });
    expect(replay.code).toBe(1);
    expect(replay.err).toMatch(/3 message\(s\) were not replayed; they are still in the DLQ/);
    for (const id of sentIds) {
      expect(replay.out).toMatch(new RegExp(`problem {2}${id} `));
      expect(list.out).toMatch(new RegExp(`${id} {2}PROBLEM `));
    }
    expect(left.map((e) => e.messageId).sort()).toEqual([...sentIds].sort());
    expect(left.map((e) => e.body).sort()).toEqual(bodies.map((b) => b.body).sort());
    expect(await ingestQueueDepth()).toBe(0);
  });
});
