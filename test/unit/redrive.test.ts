import type { SQSMessageAttributes } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_DEFER_SECONDS, type RedriveDeps, runRedrive } from '#lib/redrive/redrive.ts';
import {
  buildDlqMessage,
  type FailureInput,
  readDlqMessage,
  toReplayMessage,
} from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE, type FailureRecord } from '#lib/retry/failure-record.ts';
import { createInMemorySqsPort, type InMemorySqsPort } from '#test/support/memory-sqs-port.ts';

const DLQ = 'https://sqs.test/000000000000/dlq';
const INGEST = 'https://sqs.test/000000000000/ingest';
const T0 = Date.parse('2025-03-01T10:00:00.000Z');
const MINUTE = 60_000;

const overQuota: FailureInput = {
  class: 'OVER_QUOTA',
  code: 'ServiceQuotaExceededException',
  message: 'quota',
  source: 'crm',
  ruleId: 'r1',
  eventId: 'evt-1',
  clientToken: 'tok-1',
};
const permanent: FailureInput = {
  class: 'PERMANENT',
  code: 'InvalidParameterException',
  message: 'Name too long',
  source: 'orders',
};

function world() {
  const clock = { t: T0 };
  const sqs = createInMemorySqsPort(() => clock.t);
  const deps: RedriveDeps = {
    sqs,
    dlqUrl: DLQ,
    ingestQueueUrl: INGEST,
    limits: { maxAttempts: 5, maxAgeSeconds: 86_400 },
    now: () => clock.t,
  };
  return { clock, sqs, deps };
}

function park(
  sqs: InMemorySqsPort,
  input: {
    failure: FailureInput;
    nextAttemptAt?: number;
    previous?: FailureRecord;
    body?: string;
    attributes?: SQSMessageAttributes;
    at?: number;
    messageId?: string;
  },
) {
  const message = buildDlqMessage({
    body: input.body ?? '{"id":"evt-1","data":{"n":1}}',
    attributes: input.attributes ?? { source: { dataType: 'String', stringValue: 'crm' } },
    messageId: input.messageId ?? 'first-delivery',
    failure: input.failure,
    now: input.at ?? T0,
    ...(input.previous ? { previous: input.previous } : {}),
    ...(input.nextAttemptAt === undefined ? {} : { nextAttemptAt: new Date(input.nextAttemptAt) }),
  });
  return sqs.put(DLQ, message);
}

function recordOf(message: {
  body: string;
  attributes: Parameters<typeof readDlqMessage>[0]['MessageAttributes'];
}) {
  return readDlqMessage({ Body: message.body, MessageAttributes: message.attributes });
}

describe('runRedrive, scheduled', () => {
  it('replays a due over-quota message to the ingest queue, then deletes it from the DLQ', async () => {
    // Prepare
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + MINUTE });
    clock.t = T0 + 2 * MINUTE;
    // Act
    const summary = await runRedrive(deps, { mode: 'scheduled' });
    // Assess
    expect(summary).toMatchObject({ scanned: 1, replayed: 1, deferred: 0, problems: [] });
    expect(sqs.messages(DLQ)).toHaveLength(0);
    const [replayed] = sqs.messages(INGEST);
    expect(replayed?.body).toBe('{"id":"evt-1","data":{"n":1}}');
    expect(replayed?.attributes.source?.StringValue).toBe('crm');
    const read = recordOf(replayed as NonNullable<typeof replayed>);
    expect(read.failure).toMatchObject({ redriveCount: 1, eventId: 'evt-1', clientToken: 'tok-1' });
  });

  it('defers a message that is not due yet until its nextAttemptAt', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + 10 * MINUTE });

    const summary = await runRedrive(deps, { mode: 'scheduled' });

    expect(summary).toMatchObject({ scanned: 1, replayed: 0, deferred: 1 });
    expect(sqs.messages(INGEST)).toHaveLength(0);
    clock.t = T0 + 10 * MINUTE - 1_000;
    expect(await sqs.approximateCount(DLQ)).toBe(0);
    clock.t = T0 + 10 * MINUTE;
    expect(await sqs.approximateCount(DLQ)).toBe(1);
  });

  it('defers at most 43,200 seconds, even when the message is due days later', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + 3 * 86_400_000 });

    await runRedrive(deps, { mode: 'scheduled' });

    const [stored] = sqs.messages(DLQ);
    expect(((stored?.visibleAt ?? 0) - clock.t) / 1000).toBe(MAX_DEFER_SECONDS);
    expect(MAX_DEFER_SECONDS).toBeLessThanOrEqual(43_200);
  });

  it('leaves permanent failures in the DLQ and visible for ops', async () => {
    const { sqs, deps } = world();
    park(sqs, { failure: permanent });

    const summary = await runRedrive(deps, { mode: 'scheduled' });

    expect(summary).toMatchObject({ scanned: 1, replayed: 0, permanentUntouched: 1 });
    expect(sqs.messages(INGEST)).toHaveLength(0);
    expect(await sqs.approximateCount(DLQ)).toBe(1);
  });

  it('rewrites a message that reached the attempt limit as EXHAUSTED and keeps it for ops', async () => {
    const { clock, sqs, deps } = world();
    const firstTrip = buildDlqMessage({
      body: '{}',
      attributes: {},
      messageId: 'first-delivery',
      failure: overQuota,
      now: T0,
    });
    const first = readDlqMessage({
      Body: firstTrip.MessageBody,
      MessageAttributes: firstTrip.MessageAttributes,
    });
    const previous = { ...(first.failure as FailureRecord), attempts: 4 }; // this is the fifth trip
    park(sqs, { failure: overQuota, previous, nextAttemptAt: T0 + MINUTE });
    clock.t = T0 + 2 * MINUTE;

    const summary = await runRedrive(deps, { mode: 'scheduled' });

    expect(summary).toMatchObject({ exhausted: 1, replayed: 0 });
    expect(sqs.messages(INGEST)).toHaveLength(0);
    const [kept] = sqs.messages(DLQ);
    const read = recordOf(kept as NonNullable<typeof kept>);
    expect(read.body).toBe('{"id":"evt-1","data":{"n":1}}');
    expect(read.failure).toMatchObject({
      class: 'EXHAUSTED',
      code: 'ServiceQuotaExceededException',
      attempts: 5,
    });
    expect(read.failure?.nextAttemptAt).toBeUndefined();
    expect(read.failure?.message).toMatch(/gave up after 5 attempts/);

    const second = await runRedrive(deps, { mode: 'scheduled' });
    expect(second).toMatchObject({ scanned: 1, replayed: 0, exhausted: 0, skipped: 1 });
  });

  it('gives up on a message whose first failure is older than the maximum age', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + MINUTE });
    clock.t = T0 + 86_400_000;

    const summary = await runRedrive(deps, { mode: 'scheduled' });

    expect(summary.exhausted).toBe(1);
    expect(summary.actions[0]?.reason).toMatch(/first failure 86400 s ago/);
  });

  it('reports a message without a readable failure record and leaves it in place', async () => {
    const { sqs, deps } = world();
    const broken = sqs.put(DLQ, {
      MessageBody: 'moved by the queue redrive policy',
      MessageAttributes: { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: '{"v":1,' } },
    });
    sqs.put(DLQ, { MessageBody: 'no record at all', MessageAttributes: {} });

    const summary = await runRedrive(deps, { mode: 'scheduled' });

    expect(summary.problems).toEqual([
      { messageId: broken.messageId, problem: expect.stringMatching(/not JSON/) },
      { messageId: expect.any(String), problem: expect.stringMatching(/no failure record/) },
    ]);
    expect(sqs.messages(DLQ)).toHaveLength(2);
    expect(await sqs.approximateCount(DLQ)).toBe(2);
    expect(sqs.messages(INGEST)).toHaveLength(0);
  });

  it('replays a record-less message that ops name by id, its message id becoming the event id', async () => {
    // Prepare: moved by the queue's redrive policy (no failure record), and one that is not named.
    const { sqs, deps } = world();
    const bare = sqs.put(DLQ, {
      MessageBody: '{"n":1}',
      MessageAttributes: { source: { DataType: 'String', StringValue: 'crm' } },
    });
    const other = sqs.put(DLQ, { MessageBody: '{"n":2}', MessageAttributes: {} });

    // Act
    const summary = await runRedrive(deps, { mode: 'ops-replay', filter: { messageIds: [bare.messageId] } });

    // Assess
    expect(summary.replayed).toBe(1);
    const [replayed] = sqs.messages(INGEST);
    expect(replayed?.body).toBe('{"n":1}');
    expect(replayed?.attributes.source?.StringValue).toBe('crm');
    expect(replayed && recordOf(replayed).failure).toMatchObject({
      class: 'EXHAUSTED',
      code: 'NoFailureRecord',
      eventId: bare.messageId,
      redriveCount: 1,
    });
    expect(sqs.messages(DLQ).map((m) => m.messageId)).toEqual([other.messageId]);
  });

  it('changes nothing in a dry run and says what it would do', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 });
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + 60 * MINUTE });
    park(sqs, { failure: permanent });
    clock.t = T0 + MINUTE;
    const before = sqs.messages(DLQ).map((m) => [m.messageId, m.body]);

    const summary = await runRedrive(deps, { mode: 'scheduled', dryRun: true });

    expect(summary).toMatchObject({ dryRun: true, replayed: 1, deferred: 1, permanentUntouched: 1 });
    expect(summary.actions.map((a) => a.action)).toEqual(['replay', 'defer', 'leave']);
    expect(sqs.messages(DLQ).map((m) => [m.messageId, m.body])).toEqual(before);
    expect(await sqs.approximateCount(DLQ)).toBe(3);
    expect(sqs.messages(INGEST)).toHaveLength(0);
  });

  it('leaves a duplicate, not a loss, when it dies between the send and the delete', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 });
    const crashingDelete: RedriveDeps = {
      ...deps,
      sqs: { ...sqs, delete: () => Promise.reject(new Error('process killed')) },
    };

    const first = await runRedrive(crashingDelete, { mode: 'scheduled' });
    clock.t += 10 * MINUTE; // the hold ends; the message is back
    const second = await runRedrive(deps, { mode: 'scheduled' });

    expect(first.problems[0]?.problem).toMatch(/sent but not deleted/);
    expect(second.replayed).toBe(1);
    expect(sqs.messages(DLQ)).toHaveLength(0);
    const copies = sqs.messages(INGEST).map((m) => recordOf(m));
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((c) => `${c.body}|${c.failure?.eventId}|${c.failure?.clientToken}`)).size).toBe(
      1,
    );
  });

  it('keeps the message in the DLQ when the send to the ingest queue fails', async () => {
    const { sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 });
    const failingSend: RedriveDeps = {
      ...deps,
      sqs: { ...sqs, send: () => Promise.reject(new Error('AccessDenied')) },
    };

    const summary = await runRedrive(failingSend, { mode: 'scheduled' });

    expect(summary.replayed).toBe(0);
    expect(summary.problems[0]?.problem).toMatch(/replay failed, message left in the DLQ/);
    expect(await sqs.approximateCount(DLQ)).toBe(1);
  });

  it('replays at most max messages per run', async () => {
    const { sqs, deps } = world();
    for (let i = 0; i < 5; i += 1) park(sqs, { failure: overQuota, nextAttemptAt: T0 });

    const summary = await runRedrive(deps, { mode: 'scheduled', max: 2 });

    expect(summary).toMatchObject({ replayed: 2, stoppedBy: 'max' });
    expect(sqs.messages(INGEST)).toHaveLength(2);
    expect(await sqs.approximateCount(DLQ)).toBe(3);
  });

  it('stops when the remaining time runs low and releases what it read', async () => {
    const { sqs, deps } = world();
    for (let i = 0; i < 3; i += 1) park(sqs, { failure: permanent });
    let remaining = 60_000;

    const summary = await runRedrive(deps, {
      mode: 'scheduled',
      remainingTimeMs: () => {
        remaining -= 20_000;
        return remaining;
      },
    });

    expect(summary.stoppedBy).toBe('time');
    expect(summary.scanned).toBeLessThan(3);
    expect(await sqs.approximateCount(DLQ)).toBe(3);
  });

  it('starts no receive whose long poll would eat into the time kept back', async () => {
    // Prepare: 5.5 s left: the 5-s reserve plus less than the receive's 1-s wait.
    const { sqs, deps } = world();
    park(sqs, { failure: overQuota, nextAttemptAt: T0 });
    let receives = 0;
    const counting = {
      ...sqs,
      receive: (...args: Parameters<typeof sqs.receive>) => {
        receives += 1;
        return sqs.receive(...args);
      },
    };

    // Act
    const summary = await runRedrive(
      { ...deps, sqs: counting },
      { mode: 'scheduled', remainingTimeMs: () => 5_500 },
    );

    // Assess
    expect(summary).toMatchObject({ stoppedBy: 'time', scanned: 0 });
    expect(receives).toBe(0);
  });

  it('replays a wrapped message (10 attributes) wrapped again, so nothing is dropped', async () => {
    const { sqs, deps } = world();
    const attributes: SQSMessageAttributes = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`a${i}`, { dataType: 'String', stringValue: `v${i}` }]),
    );
    park(sqs, { failure: overQuota, nextAttemptAt: T0, attributes });

    await runRedrive(deps, { mode: 'scheduled' });

    const [replayed] = sqs.messages(INGEST);
    expect(Object.keys(replayed?.attributes ?? {})).toEqual([FAILURE_ATTRIBUTE]);
    const read = recordOf(replayed as NonNullable<typeof replayed>);
    expect(Object.keys(read.attributes)).toHaveLength(10);
    expect(read.failure).toMatchObject({ wrapped: true, redriveCount: 1 });
  });

  it('derives the due time of an over-quota record without nextAttemptAt from the backoff base', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: overQuota });
    clock.t = T0 + 30_000;

    const summary = await runRedrive(
      { ...deps, overQuotaBackoff: { baseSeconds: 60, capSeconds: 3_600 } },
      { mode: 'scheduled' },
    );

    expect(summary.deferred).toBe(1);
    expect(summary.actions[0]?.reason).toBe('due at 2025-03-01T10:01:00.000Z');
  });

  it('replays a TRANSIENT record on its redrive backoff, round after round, and leaves it for ops as EXHAUSTED after the bounded rounds', async () => {
    // Prepare: two rounds allowed; ingest parked the message TRANSIENT, due in five minutes.
    const { clock, sqs, deps } = world();
    const rounds: RedriveDeps = {
      ...deps,
      limits: { maxAttempts: 5, maxAgeSeconds: 86_400, transientRounds: 2 },
    };
    const transient: FailureInput = { ...overQuota, class: 'TRANSIENT', code: 'InternalServerError' };
    park(sqs, { failure: transient, nextAttemptAt: T0 + 5 * MINUTE });

    // Act 1: a run before it is due, then one after.
    const early = await runRedrive(rounds, { mode: 'scheduled' });
    clock.t = T0 + 5 * MINUTE;
    const first = await runRedrive(rounds, { mode: 'scheduled' });

    // Assess 1: deferred, then replayed as round 1, nothing of its last round in place carried.
    expect(early).toMatchObject({ deferred: 1, replayed: 0, skipped: 0 });
    expect(first).toMatchObject({ replayed: 1, exhausted: 0 });
    const [replayed] = sqs.messages(INGEST);
    const round1 = recordOf(replayed as NonNullable<typeof replayed>).failure as FailureRecord;
    expect(round1).toMatchObject({ class: 'TRANSIENT', transientRounds: 1, redriveCount: 1 });
    expect(round1.inPlace).toBeUndefined();

    // Act 2: ingest parks it again after each round (as it would on failing again); the schedule runs
    // when that round is due.
    const parkedAgain = async (previous: FailureRecord, atMinute: number) => {
      park(sqs, {
        failure: transient,
        previous,
        nextAttemptAt: T0 + (atMinute + 10) * MINUTE,
        at: T0 + atMinute * MINUTE,
      });
      clock.t = T0 + (atMinute + 10) * MINUTE;
      return runRedrive(rounds, { mode: 'scheduled' });
    };
    const second = await parkedAgain(round1, 10);
    const again = sqs.messages(INGEST).at(-1);
    const round2 = recordOf(again as NonNullable<typeof again>).failure as FailureRecord;
    const third = await parkedAgain(round2, 30);
    const fourth = await runRedrive(rounds, { mode: 'scheduled' });

    // Assess 2: the second round replayed; then, its rounds spent, EXHAUSTED with the reason, left alone.
    expect(second).toMatchObject({ replayed: 1 });
    expect(round2).toMatchObject({ transientRounds: 2 });
    expect(third).toMatchObject({ replayed: 0, exhausted: 1 });
    expect(fourth).toMatchObject({ replayed: 0, exhausted: 0, skipped: 1 });
    expect(sqs.messages(INGEST)).toHaveLength(2);
    const [kept] = sqs.messages(DLQ);
    const read = recordOf(kept as NonNullable<typeof kept>);
    expect(read.failure).toMatchObject({
      class: 'EXHAUSTED',
      code: 'InternalServerError',
      transientRounds: 2,
    });
    expect(read.failure?.message).toMatch(
      /^redrive gave up after 2 redrive rounds of transient failures \(limit 2, REDRIVE_TRANSIENT_ROUNDS\)/,
    );
  });

  it('derives the due time of a TRANSIENT record without nextAttemptAt from the transient redrive backoff', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: { ...overQuota, class: 'TRANSIENT', code: 'TimeoutError' } });
    clock.t = T0 + MINUTE;

    const summary = await runRedrive(
      { ...deps, transientBackoff: { baseSeconds: 300, capSeconds: 3_600 } },
      { mode: 'scheduled' },
    );

    expect(summary.deferred).toBe(1);
    expect(summary.actions[0]?.reason).toBe('due at 2025-03-01T10:05:00.000Z');
  });

  it('gives an ops replay of an EXHAUSTED record fresh transient rounds', () => {
    const exhausted: FailureRecord = {
      v: 1,
      class: 'EXHAUSTED',
      code: 'InternalServerError',
      message: 'redrive gave up after 5 redrive rounds of transient failures',
      attempts: 6,
      redriveCount: 5,
      transientRounds: 5,
      firstFailureAt: new Date(T0).toISOString(),
      lastFailureAt: new Date(T0).toISOString(),
      originalMessageId: 'first-delivery',
    };
    const read = { body: '{}', attributes: {}, failure: exhausted };

    const replay = toReplayMessage(read, {
      redriveCount: 6,
      replayId: 'r-1',
      freshBudgetAt: new Date(T0).toISOString(),
    });

    const failure = recordOf({ body: replay.MessageBody, attributes: replay.MessageAttributes }).failure;
    expect(failure?.transientRounds).toBeUndefined();
    expect(failure).toMatchObject({ attempts: 0, redriveCount: 1, replayId: 'r-1' });
  });

  it('refuses to run scheduled without limits', async () => {
    const { deps } = world();
    const { limits: _limits, ...withoutLimits } = deps;

    await expect(runRedrive(withoutLimits, { mode: 'scheduled' })).rejects.toThrow(TypeError);
  });
});

describe('runRedrive, ops replay', () => {
  it('replays every matching message whatever its class and leaves the others', async () => {
    const { sqs, deps } = world();
    park(sqs, { failure: permanent });
    park(sqs, { failure: overQuota, nextAttemptAt: T0 + 60 * MINUTE });

    const summary = await runRedrive(deps, { mode: 'ops-replay', filter: { source: 'orders' } });

    expect(summary).toMatchObject({ replayed: 1, skipped: 1 });
    expect(summary.actions[0]).toMatchObject({ class: 'PERMANENT', source: 'orders', action: 'replay' });
    expect(sqs.messages(INGEST)).toHaveLength(1);
    expect(await sqs.approximateCount(DLQ)).toBe(1);
  });

  it('matches by the first delivery id and by minimum age', async () => {
    const { clock, sqs, deps } = world();
    park(sqs, { failure: permanent, messageId: 'sqs-old' });
    park(sqs, { failure: permanent, messageId: 'sqs-new', at: T0 + 50 * MINUTE });
    clock.t = T0 + 60 * MINUTE;

    const byAge = await runRedrive(deps, {
      mode: 'ops-replay',
      filter: { olderThanSeconds: 30 * 60 },
      dryRun: true,
    });
    const byId = await runRedrive(deps, { mode: 'ops-replay', filter: { messageIds: ['sqs-new'] } });

    expect(byAge.actions.map((a) => a.eventId)).toEqual(['sqs-old']);
    expect(byId.replayed).toBe(1);
    expect(
      recordOf(sqs.messages(INGEST)[0] as NonNullable<ReturnType<typeof sqs.messages>[0]>).failure
        ?.originalMessageId,
    ).toBe('sqs-new');
  });

  it('paces the replays through the given pace function', async () => {
    const { sqs, deps } = world();
    for (let i = 0; i < 3; i += 1) park(sqs, { failure: permanent });
    let paced = 0;

    await runRedrive(deps, {
      mode: 'ops-replay',
      filter: {},
      pace: async () => {
        paced += 1;
      },
    });

    expect(paced).toBe(3);
  });
});

describe('runRedrive, unreadable messages under a filter', () => {
  it('skips an unreadable message that a source filter cannot match instead of reporting it', async () => {
    const { sqs, deps } = world();
    sqs.put(DLQ, { MessageBody: 'orphan', MessageAttributes: {} });
    park(sqs, { failure: permanent });

    const summary = await runRedrive(deps, { mode: 'ops-replay', filter: { source: 'orders' } });

    expect(summary).toMatchObject({ replayed: 1, skipped: 1, problems: [] });
    expect(await sqs.approximateCount(DLQ)).toBe(1);
  });
});
