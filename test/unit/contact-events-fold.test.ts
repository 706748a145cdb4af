/**
 * Contact events folded into a task's ledger entry (lib/contact-events/progress.ts, apply.ts) on the
 * in-memory ledger the contract holds to the DynamoDB adapter: every event type in any order, repeated
 * and missing, ends in the same, right state; effects fire once, on a type's first arrival.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { applyContactFact, applyTaskFact, DISCONNECTED_CHECK_MS } from '#lib/contact-events/apply.ts';
import { readContactEvent } from '#lib/contact-events/event.ts';
import { type ContactFact, foldFact, viewOf } from '#lib/contact-events/progress.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { openPartition } from '#lib/ledger/codec.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import { AGENT_ID, contactEvent, LIFE, type LifeEventType, T } from '#test/support/contact-events.ts';
import { FUZZ_SEED, fuzzRuns } from '#test/support/fuzz.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

const NOW = T.acwEnd + 60_000;
const ALL: NotifySpec = { outcomes: ['task.created', 'task.accepted', 'task.completed'] };

function factOf(contactId: string, type: string, id?: string): ContactFact {
  const read = readContactEvent(JSON.stringify(contactEvent(contactId, type, id)));
  if (read.kind !== 'fact') throw new Error(`not a fact: ${JSON.stringify(read)}`);
  return read.fact;
}

async function ledgerWithTask(contactId: string, notify: NotifySpec | null = ALL) {
  const ledger = new InMemoryLedger();
  const clientToken = taskClientToken(INSTANCE_ID, 'com.example.crm', `key-${contactId}`);
  await ledger.put(
    {
      clientToken,
      contactId,
      instanceId: INSTANCE_ID,
      source: 'com.example.crm',
      eventId: `e-${contactId}`,
      idempotencyKey: `key-${contactId}`,
      ruleId: 'case-opened',
      createdAt: T.initiated,
    },
    { checkAt: T.initiated + 3_600_000, now: T.initiated, ...(notify ? { notify } : {}) },
  );
  return { ledger, clientToken };
}

/** Applies the events in the given order; returns the effects each applied event caused. */
async function deliver(ledger: InMemoryLedger, contactId: string, types: readonly string[]) {
  const effects = [];
  for (const type of types) {
    const out = await applyContactFact(INSTANCE_ID, contactId, factOf(contactId, type), {
      ledger,
      now: () => NOW,
    });
    if (out.status === 'applied') effects.push(...out.effects);
  }
  return effects;
}

describe('the contact progress fold', () => {
  it('ends in the same facts whatever the order, repeats and gaps of the events', () => {
    const facts = LIFE.map((type) => factOf('c-f', type));
    fc.assert(
      fc.property(
        fc.subarray(facts, { minLength: 1 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.func(fc.integer()),
        (present, repeats, order) => {
          const stream = [...present, ...repeats.map((i) => present[i % present.length] as ContactFact)];
          const shuffled = stream
            .map((f, i) => [order(i), i, f] as const)
            .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
          let folded = {};
          let firsts = 0;
          const states: number[] = [];
          for (const [, , fact] of shuffled) {
            const out = foldFact(folded, fact);
            folded = out.facts;
            if (out.first) firsts += 1;
            states.push(LIFE.indexOf(viewOf(folded).state as LifeEventType));
          }
          const canonical = present.reduce((acc, f) => foldFact(acc, f).facts, {});
          expect(folded).toEqual(canonical);
          expect(firsts).toBe(present.length);
          // The state never goes back.
          expect(states).toEqual([...states].sort((a, b) => a - b));
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(300) },
    );
  });

  it('lets an event from Connect take the place of a DescribeContact reading and of our own StopContact', () => {
    const event = factOf('c-r', 'COMPLETED');
    const api: ContactFact = { type: 'COMPLETED', at: NOW + 5, ref: 'complete-1', via: 'api' };
    const reconcile: ContactFact = { ...event, via: 'reconcile', ref: 'describe', at: NOW + 9 };
    expect(foldFact(foldFact({}, api).facts, reconcile)).toMatchObject({ changed: true, first: false });
    expect(foldFact(foldFact({}, reconcile).facts, event)).toMatchObject({ changed: true, first: false });
    expect(foldFact(foldFact({}, event).facts, api)).toMatchObject({ changed: false });
  });
  it("takes the disconnect reason from Connect's DISCONNECTED over our own StopContact's COMPLETED", () => {
    // Prepare: the agent disconnected (after-contact work), then a complete rule's StopContact ended
    // the task; Connect's COMPLETED event was lost.
    const disconnected: ContactFact = {
      type: 'DISCONNECTED',
      at: 2_000,
      ref: 'ev-disc',
      via: 'event',
      disconnectReason: 'AGENT_DISCONNECT',
    };
    const stopped: ContactFact = {
      type: 'COMPLETED',
      at: 3_000,
      ref: 'ev-c',
      via: 'api',
      disconnectReason: 'API',
    };
    // Act
    const view = viewOf({ DISCONNECTED: disconnected, COMPLETED: stopped });
    // Assess
    expect(view).toMatchObject({ state: 'COMPLETED', open: false, disconnectReason: 'AGENT_DISCONNECT' });
    expect(viewOf({ COMPLETED: stopped }).disconnectReason).toBe('API');
  });
});

describe('contact events on the ledger', () => {
  it('ends every task in its final state, whatever order, repeats and gaps the events arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([...LIFE], { minLength: 1 }),
        fc.array(fc.constantFrom(...LIFE), { maxLength: 6 }),
        async (present, repeats) => {
          const { ledger, clientToken } = await ledgerWithTask('c-p');
          const stream = [...present, ...repeats.filter((t) => present.includes(t))];
          const effects = await deliver(ledger, 'c-p', stream);
          const progress = await ledger.progress(clientToken);
          const view = viewOf(progress?.facts ?? {});
          const furthest = LIFE.filter((t) => present.includes(t)).at(-1);
          expect(view.state).toBe(furthest);
          expect(view.open).toBe(!present.includes('COMPLETED'));
          expect(progress?.closedAt === undefined).toBe(!present.includes('COMPLETED'));
          expect(await ledger.openTasks(INSTANCE_ID)).toBe(present.includes('COMPLETED') ? 0 : 1);
          // Each outcome once, and one freed slot per ended task; the events from CONNECTED_TO_AGENT on
          // name the agent, so any of them tells that the task was accepted.
          const kinds = effects.map((e) => (e.kind === 'publish' ? e.outcome.type : e.kind)).sort();
          const acceptedBy = ['CONNECTED_TO_AGENT', 'DISCONNECTED', 'COMPLETED'] as const;
          expect(kinds).toEqual(
            [
              ...(acceptedBy.some((t) => present.includes(t)) ? ['task.accepted'] : []),
              ...(present.includes('COMPLETED') ? ['release', 'task.completed'] : []),
            ].sort(),
          );
        },
      ),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(200) },
    );
  });

  it('tells the publisher who accepted the task, and how and when it ended', async () => {
    // Prepare
    const { ledger } = await ledgerWithTask('c-1');
    // Act
    const effects = await deliver(ledger, 'c-1', ['COMPLETED', 'CONNECTED_TO_AGENT', 'INITIATED']);
    // Assess
    const outcomes = effects.flatMap((e) => (e.kind === 'publish' ? [e.outcome] : []));
    expect(outcomes.map((o) => o.type)).toEqual(['task.accepted', 'task.completed']);
    expect(outcomes[1]?.data).toMatchObject({
      contactId: 'c-1',
      event: { source: 'com.example.crm', id: 'e-c-1', idempotencyKey: 'key-c-1' },
      agent: { id: AGENT_ID },
      completion: {
        completedAt: new Date(T.acwEnd).toISOString(),
        disconnectedAt: new Date(T.disconnected).toISOString(),
        disconnectReason: 'AGENT_DISCONNECT',
        afterContactWork: {
          startedAt: new Date(T.disconnected).toISOString(),
          endedAt: new Date(T.acwEnd).toISOString(),
        },
      },
    });
    expect(outcomes[0]?.data.agent).toEqual({
      id: AGENT_ID,
      connectedAt: new Date(T.connected).toISOString(),
    });
  });

  it('publishes task.accepted, ahead of task.completed, when CONNECTED_TO_AGENT is dropped and COMPLETED names the agent', async () => {
    // Prepare
    const { ledger } = await ledgerWithTask('c-6');
    // Act: CONNECTED_TO_AGENT never comes; DISCONNECTED is dropped too.
    const effects = await deliver(ledger, 'c-6', ['INITIATED', 'QUEUED', 'COMPLETED']);
    // Assess
    const outcomes = effects.flatMap((e) => (e.kind === 'publish' ? [e.outcome] : []));
    expect(outcomes.map((o) => o.type)).toEqual(['task.accepted', 'task.completed']);
    expect(outcomes[0]).toMatchObject({
      time: new Date(T.connected).toISOString(),
      data: { agent: { id: AGENT_ID, connectedAt: new Date(T.connected).toISOString() } },
    });
  });

  it('publishes task.accepted once, from DISCONNECTED, when CONNECTED_TO_AGENT is dropped', async () => {
    // Prepare
    const { ledger } = await ledgerWithTask('c-7');
    // Act
    const effects = await deliver(ledger, 'c-7', ['QUEUED', 'DISCONNECTED', 'COMPLETED', 'DISCONNECTED']);
    // Assess
    const outcomes = effects.flatMap((e) => (e.kind === 'publish' ? [e.outcome.type] : []));
    expect(outcomes).toEqual(['task.accepted', 'task.completed']);
  });

  it('publishes task.accepted from a DescribeContact reading that names the agent', async () => {
    // Prepare
    const { ledger } = await ledgerWithTask('c-8');
    const reading: ContactFact = {
      ...factOf('c-8', 'COMPLETED'),
      via: 'reconcile',
      ref: 'describe',
    };
    // Act
    const out = await applyContactFact(INSTANCE_ID, 'c-8', reading, { ledger, now: () => NOW });
    // Assess
    const types =
      out.status === 'applied'
        ? out.effects.map((e) => (e.kind === 'publish' ? e.outcome.type : e.kind))
        : [];
    expect(types).toEqual(['task.accepted', 'release', 'task.completed']);
  });

  it('publishes task.accepted once when an event without the agent outranks the reading that named it', async () => {
    // Prepare: a DescribeContact reading named the agent; its task.accepted was published.
    const { ledger, clientToken } = await ledgerWithTask('c-10');
    const reading: ContactFact = { ...factOf('c-10', 'COMPLETED'), via: 'reconcile', ref: 'describe' };
    const first = await applyTaskFact(clientToken, reading, { ledger, now: () => NOW });
    for (const e of first.status === 'applied' ? first.effects : [])
      await ledger.ackEffect(clientToken, e, NOW);
    const { agentId: _agent, connectedAt: _at, ...bare } = factOf('c-10', 'COMPLETED');
    // Act: a COMPLETED event without AgentInfo takes the reading's place; then DISCONNECTED names the agent.
    await applyTaskFact(clientToken, bare, { ledger, now: () => NOW });
    const effects = await deliver(ledger, 'c-10', ['DISCONNECTED']);
    // Assess
    expect(effects).toEqual([]);
  });

  it('publishes no task.accepted for a task completed without an agent', async () => {
    // Prepare: our own StopContact ended a queued task; no agent ever had it.
    const { ledger, clientToken } = await ledgerWithTask('c-9');
    await deliver(ledger, 'c-9', ['INITIATED', 'QUEUED']);
    const stop: ContactFact = { type: 'COMPLETED', at: NOW, ref: 'complete-1', via: 'api' };
    // Act
    const out = await applyTaskFact(clientToken, stop, { ledger, now: () => NOW });
    // Assess
    const types =
      out.status === 'applied'
        ? out.effects.map((e) => (e.kind === 'publish' ? e.outcome.type : e.kind))
        : [];
    expect(types).toEqual(['release', 'task.completed']);
  });

  it('publishes nothing the rule did not ask for, and frees the slot anyway', async () => {
    const { ledger } = await ledgerWithTask('c-2', null);
    const effects = await deliver(ledger, 'c-2', ['CONNECTED_TO_AGENT', 'COMPLETED']);
    expect(effects.map((e) => e.kind)).toEqual(['release']);
  });

  it('changes nothing for a repeated event, and ignores a contact the ledger does not know', async () => {
    const { ledger, clientToken } = await ledgerWithTask('c-3');
    await deliver(ledger, 'c-3', ['QUEUED']);
    const repeat = await applyContactFact(INSTANCE_ID, 'c-3', factOf('c-3', 'QUEUED'), {
      ledger,
      now: () => NOW,
    });
    const stranger = await applyContactFact(INSTANCE_ID, 'c-x', factOf('c-x', 'QUEUED'), {
      ledger,
      now: () => NOW,
    });
    expect(repeat).toEqual({ status: 'unchanged', clientToken });
    expect(stranger).toEqual({ status: 'unknown' });
  });

  it('checks a disconnected task with DescribeContact soon, in case its COMPLETED never comes', async () => {
    const { ledger, clientToken } = await ledgerWithTask('c-4');
    await deliver(ledger, 'c-4', ['DISCONNECTED']);
    expect((await ledger.progress(clientToken))?.checkAt).toBe(NOW + DISCONNECTED_CHECK_MS);
    expect(await ledger.duePending(openPartition(INSTANCE_ID), NOW + DISCONNECTED_CHECK_MS, 5)).toEqual([
      clientToken,
    ]);
  });

  it('records the newer of two events of one type, read from different deliveries', async () => {
    const { ledger, clientToken } = await ledgerWithTask('c-5');
    const earlier = { ...factOf('c-5', 'QUEUED', 'ev-a'), at: T.queued };
    const later = { ...factOf('c-5', 'QUEUED', 'ev-b'), at: T.queued + 1_000 };
    await applyContactFact(INSTANCE_ID, 'c-5', later, { ledger, now: () => NOW });
    const old = await applyContactFact(INSTANCE_ID, 'c-5', earlier, { ledger, now: () => NOW });
    expect(old.status).toBe('unchanged');
    expect((await ledger.progress(clientToken))?.facts.QUEUED?.ref).toBe('ev-b');
  });
});
