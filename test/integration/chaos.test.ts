/**
 * The chaos scenario, small and seeded (test/support/chaos.ts; `npm run chaos` runs it at volume):
 * Connect 500s, 429s, 402s, lost responses and calls held beyond the client timeout; crashes between
 * the Connect call and the SQS delete; SQS duplicate deliveries; DynamoDB errors. The messages go to
 * all three lane queues, and two of the rules move their events to a lane of their own. Then it
 * drains and proves nothing was lost, nothing duplicated (in every lane), every task was started in
 * its lane and nothing invalid reached Connect.
 */
import { describe, expect, it } from 'vitest';
import { LANES } from '#lib/lanes.ts';
import {
  buildEvent,
  type ChaosEvent,
  type ChaosReport,
  compare,
  formatChaosReport,
  runChaos,
} from '#test/support/chaos.ts';

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
  }, 90_000);
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
      options: { messages: 2, seed: 1 },
      events: [valid, invalid],
      sends: [valid, invalid],
      tasks: [],
      dlq: [],
      connectCounts: {},
      drained: true,
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
});
