/**
 * Priority lanes on the sandbox: one queue per lane (urgent, normal = the ingest queue, bulk), each
 * with its own event source on the ingest function, all created from serverless.yml.
 *
 * - a message published on the urgent queue becomes a task, started in the urgent lane;
 * - a rule with `lane: bulk` moves a normal-lane event to the bulk queue, where it becomes exactly
 *   one task, even when the function dies between the forward and the delete;
 * - `task-ingest send --lane bulk` publishes straight to the bulk lane;
 * - a failure parked from the urgent lane goes back to the urgent queue, both through the scheduled
 *   redrive (the real functions/redrive.ts) and through `task-ingest dlq replay`.
 *
 * The lane a record was processed in is read from the record itself (`eventSourceARN`), as the ingest
 * function reads it.
 */
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { run } from '#cli/main.ts';
import { laneOfRecord } from '#lib/ingest/lane.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import type { RedriveSummary } from '#lib/redrive/redrive.ts';
import {
  FLOW_ID,
  type Harness,
  INSTANCE_ID,
  type IngestHandler,
  startHarness,
} from '#test/support/harness.ts';

const REDRIVE_SCHEDULE = 'connect-task-ingest-local-dlq-redrive';
const MISSING_FLOW_ID = 'f1a2b3c4-0000-4000-8000-0000000000ff';
/** The lane queues' VisibilityTimeout in serverless.yml: when an undeleted message comes back. */
const QUEUE_VISIBILITY_SECONDS = 360;
/** Past the rules cache (RULES_CACHE_SECONDS 30) and any first over-quota backoff (≤ 120 s). */
const PAST_CACHES_AND_BACKOFF_SECONDS = 200;

function createRule(source: string, options: { lane?: Lane; contactFlowId?: string } = {}) {
  return {
    source,
    ruleId: 'lanes',
    instanceId: INSTANCE_ID,
    target: { contactFlowId: options.contactFlowId ?? FLOW_ID },
    mapping: { name: "'Lane event ' & data.ref" },
    ...(options.lane ? { options: { lane: options.lane } } : {}),
  };
}

function cloudEvent(source: string, ref: string): string {
  return JSON.stringify({
    specversion: '1.0',
    source,
    id: ref,
    type: 'com.example.lanes.happened',
    data: { ref },
  });
}

interface Seen {
  body: string;
  lane: Lane;
  status: string;
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('priority lanes on the sandbox', () => {
  let h: Harness;
  const seen: Seen[] = [];
  /** A body whose first invocation on the normal queue dies after the handler returned (no delete). */
  const crash = { body: undefined as string | undefined, done: deferred() };

  beforeAll(async () => {
    h = await startHarness({
      env: { START_TASK_RATE: '1000' },
      onOutcome: (record, outcome) =>
        seen.push({ body: record.body, lane: laneOfRecord(record), status: outcome.status }),
      wrapIngest:
        (handler: IngestHandler): IngestHandler =>
        async (event, context) => {
          const response = await handler(event, context);
          const victim = event.Records.find((r) => r.body === crash.body && laneOfRecord(r) === 'normal');
          if (victim) {
            crash.body = undefined;
            crash.done.resolve();
            throw new Error('simulated crash: the function died before the poller deleted the batch');
          }
          return response;
        },
    });
    await h.putRules([
      createRule('com.example.lanes'),
      createRule('com.example.lanes.to-bulk', { lane: 'bulk' }),
      createRule('com.example.lanes.broken', { contactFlowId: MISSING_FLOW_ID }),
    ]);
  });

  afterEach(async () => {
    await h.connectConfig({ activeTaskQuota: 2500 });
    for (const queueUrl of [h.dlqUrl, ...LANES.map((lane) => h.laneQueueUrls[lane])]) {
      await h.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    }
  });

  afterAll(async () => {
    await h.stop();
  });

  async function cli(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await run(['--endpoint', h.endpoint, ...argv], {
      io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => stdin },
      env: {},
    });
    return { code, out: out.join(''), err: err.join('') };
  }

  const tasksNamed = (name: string) => h.tasks().filter((t) => t.Name === name);
  const history = (body: string) =>
    seen.filter((s) => s.body === body).map(({ lane, status }) => `${lane} ${status}`);

  it('turns a message on the urgent queue into a task, started in the urgent lane', async () => {
    // Prepare
    const body = cloudEvent('com.example.lanes', 'urgent-1');

    // Act
    await h.send(body, {}, 'urgent');
    await h.idle();

    // Assess
    expect(history(body)).toEqual(['urgent created']);
    expect(tasksNamed('Lane event urgent-1')).toHaveLength(1);
  });

  it('moves a normal-lane event to the bulk queue when its rule says bulk, where it becomes exactly one task', async () => {
    // Prepare: a CloudEvent sent twice by upstream, and a raw message known only by its SQS message id
    // whose first forward is followed by a crash before the delete (so it is forwarded twice).
    const event = cloudEvent('com.example.lanes.to-bulk', 'bulk-1');
    const raw = JSON.stringify({ ref: 'bulk-raw-1' });
    crash.body = raw;

    // Act
    await h.send(event);
    await h.send(event);
    await h.send(raw, { source: 'com.example.lanes.to-bulk' });
    await crash.done.promise;
    await h.idle({ includeInvisible: false });
    await h.advanceClock(QUEUE_VISIBILITY_SECONDS + 1);
    await h.idle();

    // Assess: forwarded from the normal lane (again after the crash, with its batch), created once in
    // the bulk lane; every later copy found the task by its ClientToken.
    for (const body of [event, raw]) {
      const outcomes = history(body);
      expect(outcomes.filter((o) => o === 'normal forwarded').length).toBeGreaterThanOrEqual(2);
      expect(outcomes.filter((o) => o === 'bulk created')).toHaveLength(1);
      expect(
        outcomes.filter((o) => !['normal forwarded', 'bulk created', 'bulk duplicate'].includes(o)),
      ).toEqual([]);
    }
    expect(tasksNamed('Lane event bulk-1')).toHaveLength(1);
    expect(tasksNamed('Lane event bulk-raw-1')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });

  it('publishes straight to a lane with send --lane', async () => {
    // Prepare
    const body = cloudEvent('com.example.lanes', 'sent-to-bulk');

    // Act
    const sent = await cli(['send', '-', '--lane', 'bulk'], body);
    const refused = await cli(['send', '-', '--lane', 'fast'], body);
    await h.idle();

    // Assess
    expect(sent).toMatchObject({ code: 0, err: '' });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/argument 'fast' is invalid. Allowed choices are urgent, normal, bulk/);
    expect(history(body)).toEqual(['bulk created']);
    expect(tasksNamed('Lane event sent-to-bulk')).toHaveLength(1);
  });

  it('sends an over-quota failure of the urgent lane back to the urgent queue with the scheduled redrive', async () => {
    // Prepare: the instance is at its active-task quota, so the event is parked OVER_QUOTA.
    const body = cloudEvent('com.example.lanes', 'urgent-quota');
    await h.connectConfig({ activeTaskQuota: 0 });
    await h.send(body, {}, 'urgent');
    await h.idle();
    const parked = await h.dlq();
    await h.connectConfig({ activeTaskQuota: 2500 });
    await h.advanceClock(PAST_CACHES_AND_BACKOFF_SECONDS);

    // Act
    const summary = (await h.pipeline?.runSchedule(REDRIVE_SCHEDULE)) as RedriveSummary;
    await h.idle();

    // Assess
    expect(parked.map((e) => e.failure)).toEqual([
      expect.objectContaining({ class: 'OVER_QUOTA', lane: 'urgent' }),
    ]);
    expect(summary).toMatchObject({ replayed: 1, problems: [] });
    expect(summary.actions).toEqual([expect.objectContaining({ action: 'replay', lane: 'urgent' })]);
    expect(history(body)).toEqual(['urgent parked', 'urgent created']);
    expect(tasksNamed('Lane event urgent-quota')).toHaveLength(1);
  });

  it('sends a permanent failure of the urgent lane back to the urgent queue with dlq replay', async () => {
    // Prepare: the rule points at a contact flow that does not exist (404 → PERMANENT).
    const source = 'com.example.lanes.broken';
    const body = cloudEvent(source, 'urgent-broken');
    await h.send(body, {}, 'urgent');
    await h.idle();
    const list = await cli(['dlq', 'list', '--source', source]);
    await h.putRules([createRule(source)]);
    await h.advanceClock(PAST_CACHES_AND_BACKOFF_SECONDS);

    // Act
    const replay = await cli(['dlq', 'replay', '--source', source]);
    await h.idle();

    // Assess
    expect(list.out).toMatch(
      /PERMANENT {2}ResourceNotFoundException {2}source=com\.example\.lanes\.broken .* lane=urgent/,
    );
    expect(replay).toMatchObject({ code: 0, err: '' });
    expect(replay.out).toMatch(
      /replayed {2}\S+ {2}PERMANENT {2}ResourceNotFoundException {2}source=\S+ {2}lane=urgent/,
    );
    expect(history(body)).toEqual(['urgent parked', 'urgent created']);
    expect(tasksNamed('Lane event urgent-broken')).toHaveLength(1);
    expect(await h.dlq()).toEqual([]);
  });
});
