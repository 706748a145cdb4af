/**
 * The chaos verdict on outcomes and ledger entries (common/chaos/outcomes.ts, through
 * common/chaos/report.ts `compare`): every check must be able to fail. No network.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerRead, PublishedOutcome } from '#common/chaos/outcomes.ts';
import type { ChaosTask } from '#common/chaos/reads.ts';
import { compare, formatChaosReport } from '#common/chaos/report.ts';
import { buildEvent, buildLifecycleEvent, type ChaosEvent } from '#common/chaos/scenario.ts';
import { outcomeId } from '#lib/idempotency/ids.ts';

const crm = buildEvent('cloudevents', 1);
const alarm = buildEvent('eventbridge', 2, 'urgent');
const tooLong = buildEvent('name-too-long', 3);
const update = buildLifecycleEvent(crm, 'update', 1);
const AGENT = 'agent-1';

const task = (event: ChaosEvent, token: string, more: Partial<ChaosTask> = {}): ChaosTask => ({
  ContactId: `contact-${token}`,
  Name: event.expectedName as string,
  ClientToken: token,
  Attributes: { chaosEvent: event.id },
  // The CRM case's one update, applied.
  ...(event === crm ? { Description: 'Update 1', References: { status: { Value: 's1' } } } : {}),
  ...more,
});
/** Accepted by an agent, completed by the agent. */
const crmTask = task(crm, 't1', {
  State: 'ENDED',
  UserId: AGENT,
  DisconnectReason: 'AGENT_DISCONNECT',
  ConnectedToAgentTimestamp: '2024-05-01T10:00:00.000Z',
  CompletedTimestamp: '2024-05-01T10:05:00.000Z',
});
/** Expired without an agent. */
const alarmTask = task(alarm, 't2', {
  State: 'ENDED',
  DisconnectReason: 'EXPIRED',
  CompletedTimestamp: '2024-05-01T10:05:00.000Z',
});

const outcome = (type: string, parts: string[], subject: string, data: unknown = {}): PublishedOutcome => ({
  id: outcomeId(type, parts),
  type,
  subject,
  data,
});
const about = (event: ChaosEvent) => ({ event: event.envelope });
/** Every outcome the end state above calls for (the alarm's rule asks for no task.updated or task.rejected). */
const ALL: PublishedOutcome[] = [
  outcome('task.created', ['t1'], 'contact-t1', about(crm)),
  outcome('task.accepted', ['t1'], 'contact-t1', about(crm)),
  outcome('task.completed', ['t1'], 'contact-t1', about(crm)),
  outcome('task.updated', ['t1', 'case-1-update-1'], 'contact-t1', about(crm)),
  outcome('task.created', ['t2'], 'contact-t2', about(alarm)),
  outcome('task.completed', ['t2'], 'contact-t2', about(alarm)),
  outcome(
    'task.rejected',
    ['chaos.crm', 'case-3-opened', 'PERMANENT', 'ValidationFailed'],
    'chaos.crm/case-3-opened',
    {
      event: tooLong.envelope,
    },
  ),
];
const closed = (more: Partial<LedgerRead> = {}): LedgerRead => ({ closedAt: 1, pending: 0, ...more });
const LEDGER = new Map<string, LedgerRead>([
  ['t1', closed({ agentId: AGENT, disconnectReason: 'AGENT_DISCONNECT' })],
  ['t2', closed({ disconnectReason: 'EXPIRED' })],
]);

function run(
  loop: { published?: PublishedOutcome[]; ledger?: Map<string, LedgerRead>; tasks?: ChaosTask[] } = {},
) {
  const events = [crm, alarm, tooLong, update];
  return compare({
    seed: 1,
    events,
    sends: events,
    tasks: loop.tasks ?? [crmTask, alarmTask],
    dlq: [{ eventId: tooLong.id, failureClass: 'PERMANENT', code: 'ValidationFailed' }],
    connectCounts: {},
    lifecycleOutcomes: new Map([[update.id, new Set(['updated'])]]),
    loop: { published: loop.published ?? ALL, unread: 0, ledger: loop.ledger ?? LEDGER },
  });
}

describe('chaos outcomes', () => {
  it('passes when every expected outcome is on the bus and copies of one id are alike', () => {
    // Act: two copies of task.created, the same outcome with its keys in another order.
    const copy = { ...ALL[0], data: { event: { id: crm.envelope?.id, source: crm.envelope?.source } } };
    const report = run({ published: [...ALL, copy as PublishedOutcome] });
    // Assess
    expect(report.violations).toEqual([]);
    expect(report.outcomes).toMatchObject({ published: 8, distinct: 7, expected: 7, duplicates: 1, lost: 0 });
    expect(report.ledger).toMatchObject({ tasks: 2, entries: 2, closed: 2, notFinal: 0, factsDisagree: 0 });
  });

  it('counts each expected outcome missing from the bus as lost, by type, with what the ledger holds', () => {
    // Act: no task.accepted, no task.updated, no task.rejected.
    const published = ALL.filter((o) => !['task.accepted', 'task.updated', 'task.rejected'].includes(o.type));
    const ledger = new Map(LEDGER).set(
      't1',
      closed({ agentId: AGENT, disconnectReason: 'AGENT_DISCONNECT', facts: ['COMPLETED via event'] }),
    );
    const report = run({ published, ledger });
    // Assess
    expect(report.outcomes).toMatchObject({
      lost: 3,
      lostByType: { 'task.accepted': 1, 'task.updated': 1, 'task.rejected': 1 },
    });
    expect(report.violations).toContain(
      `outcome lost: task.accepted of ${crm.id} (task contact-t1, accepted by agent ${AGENT}); the ledger holds COMPLETED via event`,
    );
    expect(report.violations).toContain(
      `outcome lost: task.rejected of ${tooLong.id} (name-too-long, PERMANENT ValidationFailed)`,
    );
  });

  it('reports the copies of one id that are different outcomes, naming where they differ', () => {
    // Prepare
    const rejected = ALL[6] as PublishedOutcome;
    const other = { ...rejected, data: { event: tooLong.envelope, failure: { dlqMessageId: 'm2' } } };
    // Act
    const report = run({ published: [...ALL, other] });
    // Assess
    expect(report.outcomes).toMatchObject({ duplicates: 1, conflicting: 1 });
    expect(report.violations).toEqual([
      `outcome ${rejected.id} (task.rejected about chaos.crm/case-3-opened) was published 2 times as 2 different outcomes, differing in data.failure`,
    ]);
  });

  it('reports an outcome its rule does not ask for, or about an event nobody sent', () => {
    // Act: the alarm rule asks for no task.updated; nobody sent chaos.crm/case-99-opened.
    const report = run({
      published: [
        ...ALL,
        outcome('task.updated', ['t2', 'x'], 'contact-t2', about(alarm)),
        outcome('task.created', ['t9'], 'contact-t9', {
          event: { source: 'chaos.crm', id: 'case-99-opened' },
        }),
      ],
    });
    // Assess
    expect(report.outcomes?.unasked).toBe(2);
    expect(report.violations).toHaveLength(2);
    expect(report.violations[0]).toMatch(/of ev-000002 was published, but its rule does not ask for it$/);
    expect(report.violations[1]).toMatch(/is about an event nobody sent: chaos\.crm\/case-99-opened$/);
  });

  it('expects no task.updated for an update that was only found stale', () => {
    // Act
    const report = compare({
      seed: 1,
      events: [crm, update],
      sends: [crm, update],
      tasks: [task(crm, 't1')],
      dlq: [],
      connectCounts: {},
      lifecycleOutcomes: new Map([[update.id, new Set(['stale'])]]),
      loop: { published: [ALL[0] as PublishedOutcome], unread: 0, ledger: new Map([['t1', { pending: 0 }]]) },
    });
    // Assess
    expect(report.outcomes).toMatchObject({ expected: 1, lost: 0 });
    expect(report.violations).toEqual([]);
  });
});

describe('chaos ledger', () => {
  it('reports entries not in their final state, missing, or disagreeing with the emulator', () => {
    // Prepare: t1 is COMPLETED but open with an effect pending and another agent; t2 has no entry.
    const ledger = new Map<string, LedgerRead>([
      ['t1', { pending: 1, agentId: 'someone', disconnectReason: 'API' }],
    ]);
    // Act
    const report = run({ ledger });
    // Assess
    expect(report.ledger).toMatchObject({
      tasks: 2,
      entries: 1,
      missing: 1,
      open: 1,
      notFinal: 1,
      pendingEffects: 1,
      factsDisagree: 1,
    });
    const entry = `ledger entry of ${crm.id} (task contact-t1)`;
    expect(report.violations).toEqual([
      `${entry} is open, the emulator shows the task COMPLETED`,
      `${entry} has 1 effects pending`,
      `${entry} names agent someone, the emulator ${AGENT}`,
      `${entry} has disconnect reason API, the emulator AGENT_DISCONNECT`,
      `ledger entry of ${alarm.id} (task contact-t2) does not exist`,
    ]);
  });

  it('reports an entry closed while the emulator shows the task still active', () => {
    // Act
    const report = run({
      tasks: [
        crmTask,
        { ...alarmTask, State: 'ACTIVE', CompletedTimestamp: undefined, DisconnectReason: undefined },
      ],
    });
    // Assess
    expect(report.violations).toContain(
      `ledger entry of ${alarm.id} (task contact-t2) is closed, the emulator shows the task ACTIVE`,
    );
  });

  it('prints the outcome and ledger figures, and says when they were not checked', () => {
    // Act
    const printed = formatChaosReport(run());
    const unchecked = formatChaosReport(
      compare({ seed: 1, events: [], sends: [], tasks: [], dlq: [], connectCounts: {} }),
    );
    // Assess
    expect(printed).toContain('  outcomes:               7 published, 7 distinct (');
    expect(printed).toContain('expected 7: 0 lost, 0 mismatched; 0 not asked for; 0 unread');
    expect(printed).toContain(
      '  ledger:                 2 tasks: 2 entries (2 closed, 0 open), 0 missing; 0 not final',
    );
    expect(unchecked).toContain('  outcomes:               not checked');
    expect(unchecked).toContain('  ledger:                 not checked');
  });
});
