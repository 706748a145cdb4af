import { describe, expect, it } from 'vitest';
import { buildTimeline, renderTimeline } from '#cli/commands/tasks/timeline.ts';
import { INSTANCE_ID } from '#common/world.ts';
import type { ContactFact } from '#lib/contact-events/progress.ts';
import type { StoredLedgerEntry, TaskProgress } from '#lib/ledger/port.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import type { Outcome } from '#lib/outcomes/outcome.ts';
import { runCli } from '#test/support/cli.ts';

describe('task-ingest tasks show (command line)', () => {
  it('wants a contactId or --source with --key, not both, not one of the pair (exit 2)', async () => {
    const env = { CONNECT_INSTANCE_IDS: INSTANCE_ID };
    for (const argv of [
      ['tasks', 'show'],
      ['tasks', 'show', '--source', 's'],
      ['tasks', 'show', 'c-1', '--source', 's', '--key', 'k'],
    ]) {
      const c = await runCli(['--stage', 'dev', ...argv], { env });
      expect(c.code, argv.join(' ')).toBe(2);
      expect(c.err).toMatch(/give a contactId/);
    }
  });

  it('asks for --instance-id when the stage instances are unknown (AWS, no CONNECT_INSTANCE_IDS)', async () => {
    // Act
    const c = await runCli(['--stage', 'prod', 'tasks', 'show', 'c-1'], { env: {} });

    // Assess
    expect(c.code).toBe(2);
    expect(c.err).toContain('pass --instance-id (or set CONNECT_INSTANCE_IDS)');
  });
});

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (seconds: number) => T0 + seconds * 1000;

function entry(): StoredLedgerEntry {
  return {
    clientToken: 'cti1-task-abc',
    contactId: 'c-1',
    instanceId: INSTANCE_ID,
    source: 'com.example.crm',
    eventId: 'e-1',
    idempotencyKey: 'case-1',
    ruleId: 'opened',
    createdAt: at(0),
    expiresAt: Math.floor(at(0) / 1000) + 86_400,
  };
}

function progress(fields: Partial<TaskProgress> = {}): TaskProgress {
  return { entry: entry(), facts: {}, rev: 0, pending: 0, sent: [], ...fields };
}

const fact = (type: ContactFact['type'], seconds: number, rest: Partial<ContactFact> = {}): ContactFact => ({
  type,
  at: at(seconds),
  ref: `ev-${type}`,
  via: 'event',
  ...rest,
});

describe('the timeline of tasks show', () => {
  it('lists the entry, the contact facts with what said them, the lifecycle events applied and the outcomes sent, in time order', () => {
    // Prepare
    const p = progress({
      facts: {
        INITIATED: fact('INITIATED', 1),
        QUEUED: fact('QUEUED', 2, { queueId: 'q-1' }),
        CONNECTED_TO_AGENT: fact('CONNECTED_TO_AGENT', 40, {
          via: 'reconcile',
          agentId: 'agent-1',
          queueId: 'q-1',
        }),
        DISCONNECTED: fact('DISCONNECTED', 60, { via: 'api', ref: 'c-evt', disconnectReason: 'API' }),
      },
      sent: [
        { id: 'o-created', type: 'task.created', at: at(3) },
        { id: 'o-accepted', type: 'task.accepted', at: at(41) },
      ],
      checkAt: at(180),
    });
    const lifecycle = {
      rev: 3,
      lastEventAt: at(30),
      lastEventId: 'u-7',
      completedAt: at(59),
      completedEventId: 'c-evt',
    };
    const pending: Effect[] = [
      { id: 'o-completed', kind: 'publish', outcome: { type: 'task.completed' } as Outcome },
    ];

    // Act
    const built = buildTimeline(p, lifecycle, pending);
    const text = renderTimeline(built);

    // Assess
    expect(
      built.timeline.map((i) => (i.kind === 'contact' || i.kind === 'outcome' ? i.type : i.kind)),
    ).toEqual([
      'created',
      'INITIATED',
      'QUEUED',
      'task.created',
      'updated',
      'CONNECTED_TO_AGENT',
      'task.accepted',
      'completed',
      'DISCONNECTED',
    ]);
    expect(built.now).toEqual({
      status: 'open',
      state: 'DISCONNECTED',
      contactEvents: 4,
      nextCheckAt: at(180),
      agentId: 'agent-1',
      queueId: 'q-1',
      disconnectReason: 'API',
      pending: [{ kind: 'publish', id: 'o-completed', outcome: 'task.completed' }],
    });
    expect(text).toContain('  2026-03-02T10:00:00.000Z  created             ledger entry, event e-1\n');
    expect(text).toMatch(/10:00:02\.000Z {2}QUEUED +contact event ev-QUEUED, queue q-1\n/);
    expect(text).toMatch(/10:00:03\.000Z {2}task\.created sent +outcome o-created\n/);
    expect(text).toMatch(/10:00:30\.000Z {2}update applied +event u-7 \(the time is the event's own\)\n/);
    expect(text).toMatch(
      /10:00:40\.000Z {2}CONNECTED_TO_AGENT +DescribeContact \(reconcile\), agent agent-1, queue q-1\n/,
    );
    expect(text).toMatch(/10:00:59\.000Z {2}complete applied +event c-evt\n/);
    expect(text).toMatch(
      /10:01:00\.000Z {2}DISCONNECTED +our StopContact \(lifecycle event c-evt\), reason API\n/,
    );
    expect(text).toMatch(/state +open \(DISCONNECTED\), next reconcile check 2026-03-02T10:03:00\.000Z\n/);
    expect(text).toMatch(/effects pending +publish task\.completed\n/);
    expect(text).not.toContain('no contact events recorded');
  });

  it('shows a closed task with its completion and no reconcile check', () => {
    // Act
    const built = buildTimeline(
      progress({
        facts: { COMPLETED: fact('COMPLETED', 90, { disconnectReason: 'AGENT_DISCONNECT' }) },
        closedAt: at(90),
        sent: [{ id: 'o-done', type: 'task.completed', at: at(91) }],
      }),
      { rev: 0 },
      [],
    );

    // Assess
    expect(built.now).toMatchObject({ status: 'closed', state: 'COMPLETED', closedAt: at(90), pending: [] });
    expect(built.now.nextCheckAt).toBeUndefined();
    expect(renderTimeline(built)).toMatch(/state +closed 2026-03-02T10:01:30\.000Z \(COMPLETED\)\n/);
    expect(renderTimeline(built)).toMatch(/effects pending +none\n/);
  });

  it('shows a task our own StopContact closed with the DescribeContact reading it still waits for', () => {
    // Act
    const built = buildTimeline(
      progress({
        facts: { COMPLETED: fact('COMPLETED', 90, { via: 'api', ref: 'c-evt', disconnectReason: 'API' }) },
        closedAt: at(90),
        checkAt: at(690),
      }),
      { rev: 0 },
      [],
    );

    // Assess
    expect(built.now).toMatchObject({ status: 'closed', closedAt: at(90), nextCheckAt: at(690) });
    expect(renderTimeline(built)).toMatch(
      /state +closed 2026-03-02T10:01:30\.000Z \(COMPLETED\) by our StopContact alone, DescribeContact reading due 2026-03-02T10:11:30\.000Z\n/,
    );
  });

  it('says "no contact events recorded" for an entry that predates contact events, its state unknown', () => {
    // Act
    const built = buildTimeline(progress(), { rev: 0 }, []);
    const text = renderTimeline(built);

    // Assess
    expect(built.timeline).toEqual([
      { at: at(0), time: '2026-03-02T10:00:00.000Z', kind: 'created', eventId: 'e-1' },
    ]);
    expect(built.now).toEqual({ status: 'untracked', state: null, contactEvents: 0, pending: [] });
    expect(text).toContain('  no contact events recorded\n');
    expect(text).toMatch(
      /state +unknown: no contact events recorded and no reconcile check \(the entry predates contact events\)/,
    );
  });

  it('shows a new task whose contact events have not come yet as open, with its first check', () => {
    // Act
    const built = buildTimeline(progress({ checkAt: at(3600) }), { rev: 0 }, []);

    // Assess
    expect(built.now).toMatchObject({ status: 'open', state: null, nextCheckAt: at(3600) });
    expect(renderTimeline(built)).toMatch(
      /state +open \(no contact events recorded yet\), next reconcile check 2026-03-02T11:00:00\.000Z/,
    );
  });
});
