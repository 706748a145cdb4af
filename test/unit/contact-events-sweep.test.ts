/**
 * The contact events sweep (lib/contact-events/sweep.ts) on the in-memory ledger with a fake
 * DescribeContact: effects a crashed writer left are performed, an open task whose terminal event never
 * came is closed from what Connect says, a still-open one is checked again later, and one Connect does
 * not know is closed after a grace. Nothing stays open forever.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { applyTaskFact, ENDED_ON_OUR_CALL_CHECK_MS } from '#lib/contact-events/apply.ts';
import type { ContactDescriber } from '#lib/contact-events/describe.ts';
import { factsOfContact } from '#lib/contact-events/describe.ts';
import { FIRST_CHECK_MS, runContactSweep } from '#lib/contact-events/sweep.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { OUTBOX_PARTITION, openPartition } from '#lib/ledger/codec.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import { publishEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, type OutcomeType } from '#lib/outcomes/outcome.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

const T0 = Date.parse('2024-05-01T09:00:00Z');
const token = (n: number) => taskClientToken(INSTANCE_ID, 'com.example.crm', `case-${n}`);

async function task(
  ledger: InMemoryLedger,
  n: number,
  effects: Effect[] = [],
  outcomes: OutcomeType[] = ['task.created', 'task.completed'],
) {
  await ledger.put(
    {
      clientToken: token(n),
      contactId: `contact-${n}`,
      instanceId: INSTANCE_ID,
      source: 'com.example.crm',
      eventId: `e-${n}`,
      idempotencyKey: `case-${n}`,
      ruleId: 'r',
      createdAt: T0,
    },
    {
      checkAt: T0 + FIRST_CHECK_MS,
      now: T0,
      effects,
      notify: { outcomes },
    },
  );
}

function sweepWith(ledger: InMemoryLedger, describe: ContactDescriber, now: number) {
  const drained: Array<[string, Effect[]]> = [];
  const run = runContactSweep({
    ledger,
    describe,
    instanceIds: [INSTANCE_ID],
    now: () => now,
    log: { warn: () => {} },
    async drain(key, effects) {
      drained.push([key, [...effects]]);
      for (const effect of effects) await ledger.ackEffect(key, effect, now);
      await ledger.settle(key);
      return { done: [...effects], left: 0 };
    },
  });
  return { run, drained };
}

const ended = (at: number) =>
  factsOfContact({
    InitiationTimestamp: new Date(T0),
    DisconnectTimestamp: new Date(at),
    DisconnectReason: 'EXPIRED',
  });

describe('the contact events sweep', () => {
  it('performs the effects a writer left, once they are past their grace', async () => {
    // Prepare: an entry written with its task.created outcome, whose writer died before publishing.
    const ledger = new InMemoryLedger();
    const created = publishEffect(
      buildOutcome('task.created', [token(1)], 'contact-1', T0, { event: { source: 's', id: 'e' } }),
    );
    await task(ledger, 1, [created]);
    // Act
    const early = sweepWith(ledger, async () => ({ found: false }), T0 + 1_000);
    await early.run;
    const late = sweepWith(ledger, async () => ({ found: false }), T0 + 200_000);
    const summary = await late.run;
    // Assess
    expect(early.drained).toEqual([]);
    expect(late.drained).toEqual([[token(1), [created]]]);
    expect(summary).toMatchObject({ drained: 1, checked: 0, openTasks: { [INSTANCE_ID]: 1 } });
  });

  it('closes an open task whose terminal event never came, from what DescribeContact says', async () => {
    // Prepare
    const ledger = new InMemoryLedger();
    await task(ledger, 2);
    const asked: string[] = [];
    // Act
    const { run, drained } = sweepWith(
      ledger,
      async (_i, contactId) => {
        asked.push(contactId);
        return { found: true, facts: ended(T0 + 30_000) };
      },
      T0 + FIRST_CHECK_MS,
    );
    const summary = await run;
    // Assess
    expect(asked).toEqual(['contact-2']);
    expect(summary).toMatchObject({ checked: 1, closed: 1, openTasks: { [INSTANCE_ID]: 0 } });
    expect(
      drained.flatMap(([, e]) => e.map((x) => (x.kind === 'publish' ? x.outcome.type : x.kind))).sort(),
    ).toEqual(['release', 'task.completed']);
    expect((await ledger.progress(token(2)))?.closedAt).toBe(T0 + 30_000);
    expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5)).toEqual([]);
  });

  it('checks a still-open task again later, less often as it ages', async () => {
    const ledger = new InMemoryLedger();
    await task(ledger, 3);
    const now = T0 + FIRST_CHECK_MS;
    const { run } = sweepWith(
      ledger,
      async () => ({ found: true, facts: factsOfContact({ InitiationTimestamp: new Date(T0) }) }),
      now,
    );
    await run;
    const progress = await ledger.progress(token(3));
    expect(progress?.closedAt).toBeUndefined();
    expect(progress?.checkAt).toBe(now + 30 * 60_000);
    expect(await ledger.duePending(openPartition(INSTANCE_ID), now + 30 * 60_000 - 1, 5)).toEqual([]);
  });

  it('closes a task Connect does not know, but only after a grace', async () => {
    const ledger = new InMemoryLedger();
    await task(ledger, 4);
    const summary = await sweepWith(ledger, async () => ({ found: false }), T0 + FIRST_CHECK_MS).run;
    expect(summary).toMatchObject({ notFound: 1, closed: 1 });
    expect((await ledger.progress(token(4)))?.facts.COMPLETED).toMatchObject({
      via: 'reconcile',
      disconnectReason: 'CONTACT_NOT_FOUND',
    });
  });

  it('stops before the invocation runs out of time, leaving the rest for the next run', async () => {
    const ledger = new InMemoryLedger();
    await task(ledger, 5);
    await task(ledger, 6);
    let left = 60_000;
    const summary = await runContactSweep({
      ledger,
      describe: async () => {
        left = 1_000;
        return { found: true, facts: [] };
      },
      instanceIds: [INSTANCE_ID],
      now: () => T0 + FIRST_CHECK_MS,
      remainingTimeMs: () => left,
      log: { warn: () => {} },
      drain: async () => ({ done: [], left: 0 }),
    });
    expect(summary).toMatchObject({ checked: 1, stoppedBy: 'time' });
  });

  describe('a task ended on our own StopContact alone', () => {
    const AGENT = 'b0b0b0b0-0000-4000-8000-000000000001';
    /** What Connect knows of a task an agent accepted and that then expired: every event of it lost. */
    const acceptedThenExpired = factsOfContact({
      InitiationTimestamp: new Date(T0),
      DisconnectTimestamp: new Date(T0 + 50_000),
      DisconnectReason: 'EXPIRED',
      AgentInfo: { Id: AGENT, ConnectedToAgentTimestamp: new Date(T0 + 20_000) },
    });
    const closedAt = T0 + 60_000;

    /** The complete rule's StopContact answered "already ended" (lifecycle.ts recordCompleted). */
    async function endedOnOurCall(ledger: InMemoryLedger, n: number) {
      await task(ledger, n, [], ['task.accepted', 'task.completed']);
      const fact = {
        type: 'COMPLETED' as const,
        at: closedAt,
        ref: 'complete-1',
        via: 'api' as const,
        disconnectReason: 'ALREADY_ENDED',
      };
      const out = await applyTaskFact(token(n), fact, { ledger, now: () => closedAt });
      for (const effect of out.status === 'applied' ? out.effects : [])
        await ledger.ackEffect(token(n), effect, closedAt);
      await ledger.settle(token(n));
    }

    const types = (drained: Array<[string, Effect[]]>) =>
      drained.flatMap(([, e]) => e.map((x) => (x.kind === 'publish' ? x.outcome.type : x.kind)));

    it('is read once with DescribeContact after a while: the agent Connect names is learnt, task.accepted goes out', async () => {
      // Prepare
      const ledger = new InMemoryLedger();
      await endedOnOurCall(ledger, 7);
      const asked: string[] = [];
      const describe: ContactDescriber = async (_i, contactId) => {
        asked.push(contactId);
        return { found: true, facts: acceptedThenExpired };
      };
      // Act
      const early = sweepWith(ledger, describe, closedAt + ENDED_ON_OUR_CALL_CHECK_MS - 1);
      await early.run;
      const due = sweepWith(ledger, describe, closedAt + ENDED_ON_OUR_CALL_CHECK_MS);
      const summary = await due.run;
      const again = sweepWith(ledger, describe, closedAt + 100 * FIRST_CHECK_MS);
      await again.run;
      // Assess: one reading; the agent and Connect's reason win over our call's; nothing freed twice.
      expect(asked).toEqual(['contact-7']);
      expect(summary).toMatchObject({ checked: 1, confirmed: 1, closed: 0, openTasks: { [INSTANCE_ID]: 0 } });
      expect(types(early.drained)).toEqual([]);
      expect(types(due.drained)).toEqual(['task.accepted']);
      const accepted = due.drained[0]?.[1][0];
      expect(accepted?.kind === 'publish' && accepted.outcome.data.agent?.id).toBe(AGENT);
      const progress = await ledger.progress(token(7));
      expect(progress).toMatchObject({ closedAt, pending: 0 });
      expect(progress?.checkAt).toBeUndefined();
      expect(progress?.facts.COMPLETED).toMatchObject({ via: 'reconcile', disconnectReason: 'EXPIRED' });
      expect(progress?.facts.CONNECTED_TO_AGENT).toMatchObject({ agentId: AGENT });
      expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5)).toEqual([]);
    });

    it('is not counted open while it waits for its reading', async () => {
      const ledger = new InMemoryLedger();
      await endedOnOurCall(ledger, 8);
      expect(await ledger.openTasks(INSTANCE_ID)).toBe(0);
      expect(await ledger.duePending(OUTBOX_PARTITION, closedAt + ENDED_ON_OUR_CALL_CHECK_MS, 5)).toEqual([
        token(8),
      ]);
    });

    it("is not read when Connect's own COMPLETED came meanwhile", async () => {
      // Prepare
      const ledger = new InMemoryLedger();
      await endedOnOurCall(ledger, 9);
      const completed = acceptedThenExpired.find((f) => f.type === 'COMPLETED');
      if (completed === undefined) throw new Error('no COMPLETED fact');
      await applyTaskFact(
        token(9),
        { ...completed, ref: 'ev-completed', via: 'event' },
        {
          ledger,
          now: () => closedAt + 1_000,
        },
      );
      let asked = 0;
      // Act
      const summary = await sweepWith(
        ledger,
        async () => {
          asked += 1;
          return { found: false };
        },
        closedAt + ENDED_ON_OUR_CALL_CHECK_MS,
      ).run;
      // Assess
      expect(asked).toBe(0);
      expect(summary.confirmed).toBe(0);
      expect(await ledger.duePending(OUTBOX_PARTITION, Number.MAX_SAFE_INTEGER, 5)).toEqual([]);
    });

    it('keeps its reading for the next run when DescribeContact fails', async () => {
      const ledger = new InMemoryLedger();
      await endedOnOurCall(ledger, 10);
      const failing = sweepWith(
        ledger,
        async () => {
          throw new Error('ThrottlingException');
        },
        closedAt + ENDED_ON_OUR_CALL_CHECK_MS,
      );
      await expect(failing.run).rejects.toThrow('ThrottlingException');
      expect((await ledger.progress(token(10)))?.checkAt).toBe(closedAt + ENDED_ON_OUR_CALL_CHECK_MS);
      expect(await ledger.duePending(OUTBOX_PARTITION, closedAt + ENDED_ON_OUR_CALL_CHECK_MS, 5)).toEqual([
        token(10),
      ]);
    });
  });

  it('reads after-contact work in progress as not completed yet', () => {
    const facts = factsOfContact({
      InitiationTimestamp: new Date(T0),
      DisconnectTimestamp: new Date(T0 + 10),
      AgentInfo: { Id: 'agent-1', AfterContactWorkStartTimestamp: new Date(T0 + 10) },
    });
    expect(facts.map((f) => f.type)).toEqual(['INITIATED', 'DISCONNECTED']);
  });
});
