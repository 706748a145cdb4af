/**
 * The chaos scenario, small and seeded (bench/chaos/run.ts; `npm run chaos` runs it at volume):
 * Connect 500s, 429s, 402s, lost responses and calls held beyond the client timeout; crashes between
 * the Connect call and the SQS delete; SQS duplicate deliveries; DynamoDB errors; contact events
 * repeated, dropped and reordered; PutEvents crashing before or after the bus; agents accepting and
 * completing tasks. The messages go to all three lane queues, and two of the rules move their events
 * to a lane of their own. Then it drains, settles the ledger with the contact events sweep, and proves
 * nothing was lost, nothing duplicated (in every lane), every task was started in its lane, nothing
 * invalid reached Connect, no outcome was lost, every copy of an outcome is alike, and every ledger
 * entry is in its final state.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '#bench/chaos/run.ts';
import { type ChaosReport, chaosExitCode, compare, formatChaosReport } from '#common/chaos/report.ts';
import { buildEvent, buildLifecycleEvent, type ChaosEvent } from '#common/chaos/scenario.ts';
import { LANES } from '#lib/lanes.ts';

const SEED = 20240501;

describe('chaos: ingest under faults everywhere', () => {
  it('creates exactly one task per valid event and parks every invalid one with a reason', async () => {
    // Prepare + Act
    const report = await runChaos({
      messages: 260,
      seed: SEED,
      faultyRounds: 2,
      faults: { activeTaskQuota: 100 },
    });
    console.info(formatChaosReport(report));

    // Assess: the scenario really was chaotic...
    const connect = report.observed.connect;
    expect(connect.InternalServiceException ?? 0).toBeGreaterThan(0);
    expect(connect.ThrottlingException ?? 0).toBeGreaterThan(0);
    expect(connect.ServiceQuotaExceededException ?? 0).toBeGreaterThan(0);
    expect(connect.LostResponse ?? 0).toBeGreaterThan(0);
    expect(report.observed.killedInvocations).toBeGreaterThan(0);
    expect(report.observed.recordOutcomes['retry TRANSIENT TimeoutError'] ?? 0).toBeGreaterThan(0);
    expect(report.observed.recordOutcomes['retry TRANSIENT InternalServerError'] ?? 0).toBeGreaterThan(0);
    expect(report.observed.recordOutcomes.duplicate ?? 0).toBeGreaterThan(0);
    expect(report.observed.recordOutcomes.forwarded ?? 0).toBeGreaterThan(0);
    const { contactEvents, putEvents, agents, contactSweeps } = report.observed;
    expect(contactEvents.dropped).toBeGreaterThan(0);
    expect(contactEvents.repeated).toBeGreaterThan(0);
    expect(report.observed.killedContactEventInvocations).toBeGreaterThan(0);
    expect(putEvents.crashedBefore).toBeGreaterThan(0);
    expect(putEvents.crashedAfter).toBeGreaterThan(0);
    expect(agents.accepted).toBeGreaterThan(0);
    expect(agents.completed).toBeGreaterThan(0);
    expect(agents.withAfterWork).toBeGreaterThan(0);
    // The sweep had work: effects a crash left, and tasks whose terminal events were dropped.
    expect(contactSweeps.drained).toBeGreaterThan(0);
    expect(contactSweeps.closed).toBeGreaterThan(0);
    // ...and every promise held.
    expect(report.violations).toEqual([]);
    expect(report.tasks.created).toBe(report.events.valid);
    expect(report.tasks.distinctClientTokens).toBe(report.events.valid);
    expect(report.tasks.distinctNames).toBe(report.events.valid);
    expect(report.tasks.duplicates).toBe(0);
    expect(report.dlq.distinctEvents).toBe(report.events.invalid);
    expect(report.dlq.withoutReason).toBe(0);
    expect(report.accounting.lost).toBe(0);
    // Updates and completes of the CRM cases: none lost, none applied out of order.
    expect(report.lifecycle.updates).toBeGreaterThan(0);
    expect(report.lifecycle.completes).toBeGreaterThan(0);
    expect(report.lifecycle).toMatchObject({ lost: 0, reordered: 0 });
    expect(report.observed.recordOutcomes.updated ?? 0).toBeGreaterThan(0);
    expect(report.observed.recordOutcomes.completed ?? 0).toBeGreaterThan(0);
    expect(connect.InvalidParameterException ?? 0).toBe(0);
    expect(connect.InvalidRequestException ?? 0).toBe(0);
    for (const lane of LANES) {
      expect(report.byLane[lane].valid, lane).toBeGreaterThan(0);
      expect(report.byLane[lane], lane).toMatchObject({ duplicates: 0, lost: 0, misplaced: 0 });
    }
    // Outcomes: every type published, duplicates only as copies of one outcome, none lost.
    const outcomes = report.outcomes;
    expect(outcomes).toBeDefined();
    for (const type of ['task.created', 'task.rejected', 'task.accepted', 'task.updated', 'task.completed']) {
      expect(outcomes?.byType[type] ?? 0, type).toBeGreaterThan(0);
    }
    expect(outcomes?.byType['task.created']).toBe(report.tasks.created);
    expect(outcomes?.byType['task.completed']).toBe(report.tasks.created);
    expect(outcomes?.duplicates).toBeGreaterThan(0);
    expect(outcomes).toMatchObject({ lost: 0, conflicting: 0, mismatched: 0, unasked: 0, unread: 0 });
    // The ledger: every entry closed like its task, nothing pending, the emulator's agent and reason.
    expect(report.ledger).toMatchObject({
      tasks: report.tasks.created,
      entries: report.tasks.created,
      closed: report.tasks.created,
      missing: 0,
      notFinal: 0,
      pendingEffects: 0,
      factsDisagree: 0,
    });
  }, 300_000);
});

describe('chaos: a run that cannot finish', () => {
  it('stops a pass that no longer progresses and reports what it holds, lost and duplicated counted, instead of throwing', async () => {
    // Prepare: from the start, every StartTaskContact is held beyond the client timeout, and a pass
    // counts as stuck after 1 s without progress.
    const options = {
      messages: 30,
      seed: SEED,
      faults: { slowEveryMs: 1, slowForMs: 600_000, clientTimeoutMs: 5_000, killAfterRate: 0 },
      wait: { stallMs: 1_000, sliceMs: 200 },
    };

    // Act
    const report = await runChaos(options);

    // Assess: it says which pass stopped and with what counts, and accounts for every event.
    expect(report.unfinished).toMatch(
      /^first pass: nothing progressed for \d+ s \(waited \d+ s in all; records handled \d+/,
    );
    expect(chaosExitCode(report)).toBe(2);
    expect(report.accounting.lost).toBe(0);
    expect(report.tasks.duplicates).toBe(0);
    expect(report.accounting.pending).toBeGreaterThan(0);
    expect(formatChaosReport(report)).toContain(`DID NOT FINISH:         ${report.unfinished}`);
  }, 60_000);
});

describe('chaos: the comparison', () => {
  const valid = buildEvent('cloudevents', 1);
  const invalid = buildEvent('malformed-json', 2);
  const task = (event: ChaosEvent, token: string) => ({
    ContactId: `contact-${token}`,
    Name: event.expectedName,
    ClientToken: token,
    Attributes: { chaosEvent: event.id },
  });
  const run = (input: Partial<Parameters<typeof compare>[0]>): ChaosReport =>
    compare({
      seed: 1,
      events: [valid, invalid],
      sends: [valid, invalid],
      tasks: [],
      dlq: [],
      connectCounts: {},
      ...input,
    });
  const tasks = (...list: ReturnType<typeof task>[]) =>
    list as unknown as Parameters<typeof compare>[0]['tasks'];

  it('passes when each valid event is one task and each invalid one is parked with its code', () => {
    // Act
    const report = run({
      tasks: tasks(task(valid, 't1')),
      dlq: [{ eventId: invalid.id, failureClass: 'PERMANENT', code: 'MalformedJson' }],
    });
    // Assess
    expect(report.violations).toEqual([]);
  });

  it('reports a second task for the same event as a duplicate', () => {
    // Act
    const report = run({
      tasks: tasks(task(valid, 't1'), task(valid, 't2')),
      dlq: [{ eventId: invalid.id, failureClass: 'PERMANENT', code: 'MalformedJson' }],
    });
    // Assess
    expect(report.tasks.duplicates).toBe(1);
    expect(report.violations.some((v) => v.startsWith('duplicate'))).toBe(true);
  });

  it('reports an event that is neither a task nor in the DLQ as lost', () => {
    // Act
    const report = run({ tasks: tasks(task(valid, 't1')) });
    // Assess
    expect(report.accounting.lost).toBe(1);
    expect(report.violations).toContain(
      `lost: event ${invalid.id} (malformed-json) is neither a task nor in the DLQ`,
    );
  });

  it("reports a task started outside its event's lane, and counts per lane", () => {
    // Prepare: an alarm (its rule's lane is urgent) sent to the bulk lane, created from the bulk queue.
    const alarm = buildEvent('eventbridge', 3, 'bulk');

    // Act
    const report = run({
      events: [alarm, invalid],
      sends: [alarm, invalid],
      tasks: tasks(task(alarm, 't3')),
      dlq: [{ eventId: invalid.id, failureClass: 'PERMANENT', code: 'MalformedJson' }],
      startedIn: new Map([['t3', new Set(['bulk' as const])]]),
    });

    // Assess
    expect(alarm.expectedLane).toBe('urgent');
    expect(report.violations).toEqual([
      `task of ${alarm.id} (eventbridge, sent to bulk) started in lane bulk, expected urgent`,
    ]);
    expect(report.byLane.bulk).toMatchObject({ events: 1, valid: 1, tasks: 1, misplaced: 1 });
    expect(report.byLane.normal).toMatchObject({ events: 1, valid: 0, lost: 0 });
  });

  it('reports DLQ entries without a reason, with the wrong code, and invalid calls that reached Connect', () => {
    // Act
    const report = run({
      tasks: tasks(task(valid, 't1')),
      dlq: [
        { eventId: invalid.id, problem: 'no failure record' },
        { eventId: invalid.id, failureClass: 'PERMANENT', code: 'NoMatchingRule' },
      ],
      connectCounts: { InvalidParameterException: 1 },
    });
    // Assess
    expect(report.dlq.withoutReason).toBe(1);
    expect(report.violations).toEqual(
      expect.arrayContaining([
        expect.stringContaining('has no reason'),
        expect.stringContaining('expected PERMANENT MalformedJson'),
        'Connect answered 1 StartTaskContact calls with InvalidParameterException',
      ]),
    );
  });

  it('counts what an unfinished run still has on its way as pending, not lost, and says why it stopped', () => {
    // Prepare: a second valid event still in a lane queue, a third parked OVER_QUOTA for the redrive,
    // and an update whose create is not a task yet.
    const queued = buildEvent('sns', 3);
    const parked = buildEvent('raw', 4);
    const update = buildLifecycleEvent(valid, 'update', 1);
    const events = [valid, invalid, queued, parked, update];

    // Act
    const report = run({
      events,
      sends: events,
      tasks: tasks(task(valid, 't1'), task(valid, 't1b')),
      dlq: [
        { eventId: invalid.id, failureClass: 'PERMANENT', code: 'MalformedJson' },
        { eventId: parked.id, failureClass: 'OVER_QUOTA', code: 'ServiceQuotaExceeded' },
      ],
      unfinished: 'round 2, drain: nothing progressed for 90 s',
      queued: new Set([queued.id, update.id]),
    });

    // Assess: three on their way, none lost; the duplicate still counts; exit code 2.
    expect(report.accounting).toMatchObject({ lost: 0, pending: 3 });
    expect(report.lifecycle.lost).toBe(0);
    expect(report.tasks.duplicates).toBe(1);
    expect(report.violations[0]).toBe('the run did not finish: round 2, drain: nothing progressed for 90 s');
    expect(report.violations.some((v) => v.includes('is in the DLQ'))).toBe(false);
    expect(chaosExitCode(report)).toBe(2);
    const printed = formatChaosReport(report);
    expect(printed).toContain('DID NOT FINISH:         round 2, drain: nothing progressed for 90 s');
    expect(printed).toContain('  duplicates:             1');
    expect(printed).toContain(
      '  lost:                   0; valid not created: 0; unknown: 0; still on their way when the run stopped: 3',
    );
  });

  it('counts a task no delivery has seen yet as pending in an unfinished run while its event is still queued', () => {
    // Prepare: Connect created both tasks, their callers saw lost responses; the first event's retry
    // is still in a lane queue, the second event is held nowhere.
    const retried = buildEvent('sns', 3);
    const events = [valid, invalid, retried];
    const unfinished = {
      events,
      sends: events,
      tasks: tasks(task(valid, 't1'), task(retried, 't3')),
      dlq: [{ eventId: invalid.id, failureClass: 'PERMANENT', code: 'MalformedJson' }],
      startedIn: new Map(),
      unfinished: 'first pass: still busy after 1001 s',
    };

    // Act
    const report = run({ ...unfinished, queued: new Set([retried.id]) });
    const held = run({ ...unfinished, queued: new Set() });

    // Assess: the queued one is pending; the other has no delivery to come and is reported.
    expect(report.violations.filter((v) => v.includes('started in lane'))).toEqual([
      `task of ${valid.id} (cloudevents, sent to normal) started in lane none seen, expected normal`,
    ]);
    expect(report.byLane.normal.misplaced).toBe(1);
    expect(held.violations.filter((v) => v.includes('started in lane'))).toHaveLength(2);
  });

  it('still reports an event an unfinished run holds nowhere as lost', () => {
    // Act
    const report = run({
      tasks: tasks(task(valid, 't1')),
      unfinished: 'first pass: nothing progressed for 90 s',
      queued: new Set(),
    });
    // Assess
    expect(report.accounting).toMatchObject({ lost: 1, pending: 0 });
    expect(report.byLane.normal.lost).toBe(1);
  });
});
