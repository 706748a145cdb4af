/**
 * The lifecycle's wait for another delivery's lease (lib/ingest/lifecycle.ts): a delivery that finds
 * the task held waits in its invocation instead of spending a receive, and gives the receive up as
 * TRANSIENT TaskBusy only when the lease outlasts the wait. Doubles for the ledger and Connect; the
 * wait's sleep is injected, so nothing waits in real time.
 */
import { describe, expect, it } from 'vitest';
import { INSTANCE_ID } from '#common/world.ts';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { IngestRefusalError, IngestRetryError } from '#lib/ingest/errors.ts';
import {
  BUSY_WAIT_MS,
  createLifecycleApplier,
  TASK_BUSY_CODE,
  TASK_NOT_FOUND_CODE,
} from '#lib/ingest/lifecycle.ts';
import { taskWaitReceive } from '#lib/ingest/receives.ts';
import type { LifecycleLedger, StoredLedgerEntry, TaskLifecycle } from '#lib/ledger/port.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
import { compileRule, validateRule } from '#lib/rules/compile.ts';

const NOW = 1_800_000_000_000;

function compiled(input: unknown) {
  const result = validateRule(input);
  if (!result.ok) throw new Error(result.errors.join('; '));
  return compileRule(result.rule);
}

const createRule = compiled({
  source: 'crm',
  ruleId: 'opened',
  priority: 10,
  instanceId: INSTANCE_ID,
  target: { contactFlowId: 'flow' },
  mapping: { name: "'n'" },
  idempotencyKey: 'data.caseId',
});
const completeRule = compiled({
  source: 'crm',
  ruleId: 'closed',
  action: 'complete',
  instanceId: INSTANCE_ID,
});

const envelope: Envelope = {
  source: 'crm',
  id: 'close-1',
  type: 'closed',
  time: '',
  data: { caseId: 'case-1' },
  attributes: {},
  kind: 'cloudevents',
};

/** A ledger whose task is leased by another delivery for the first `heldReads` reads. */
function ledgerHeldFor(heldReads: number) {
  let reads = 0;
  const entry = { contactId: 'contact-1' } as StoredLedgerEntry;
  const ledger: LifecycleLedger = {
    async lifecycle() {
      reads += 1;
      const lifecycle: TaskLifecycle =
        reads <= heldReads
          ? { rev: 1, lease: { eventId: 'update-1', until: NOW + 60_000, holder: 'other-message' } }
          : { rev: 2, lastEventId: 'update-1' };
      return { entry, lifecycle };
    },
    claimLifecycle: async () => true,
    commitLifecycle: async () => true,
    releaseLifecycle: async () => {},
  };
  return ledger;
}

function applier(ledger: LifecycleLedger, sleeps: number[], stops: string[]) {
  return createLifecycleApplier({
    ledger,
    contacts: {
      updateContact: async () => {},
      stopContact: async ({ ContactId }) => {
        stops.push(ContactId);
        return 'stopped';
      },
    },
    limits: DEFAULT_TASK_LIMITS,
    now: () => NOW,
    sleep: async (ms) => void sleeps.push(ms),
  });
}

const input = {
  rule: completeRule,
  rules: [createRule, completeRule],
  envelope,
  taskWaitsBefore: 0,
  deliveryId: 'm-1',
};

describe('lifecycle lease wait', () => {
  it('waits in the invocation for another delivery’s lease, then applies the event', async () => {
    // Prepare: the other delivery lets go after two reads.
    const sleeps: number[] = [];
    const stops: string[] = [];

    // Act
    const result = await applier(ledgerHeldFor(2), sleeps, stops)(input);

    // Assess: completed in this receive, after two short waits.
    expect(result).toMatchObject({ status: 'completed', contactId: 'contact-1' });
    expect(stops).toEqual(['contact-1']);
    expect(sleeps).toEqual([250, 250]);
  });

  it('gives the receive up as TRANSIENT TaskBusy when the lease outlasts the wait', async () => {
    // Prepare: the lease is never let go.
    const sleeps: number[] = [];
    const stops: string[] = [];

    // Act
    const error = await applier(
      ledgerHeldFor(Number.POSITIVE_INFINITY),
      sleeps,
      stops,
    )(input).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess: waited the whole budget, called nothing.
    expect(error).toBeInstanceOf(IngestRetryError);
    expect(error).toMatchObject({ code: TASK_BUSY_CODE });
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(BUSY_WAIT_MS);
    expect(stops).toEqual([]);
  });

  it('does not start the wait when the invocation cannot fit it: nothing is attempted', async () => {
    // Prepare: the lease is never let go; 12 s left, 10 s kept back (2 s < the 3-s wait).
    const sleeps: number[] = [];
    const stops: string[] = [];
    const deadline = { remainingMs: () => 12_000, marginMs: 10_000 };

    // Act
    const error = await applier(
      ledgerHeldFor(Number.POSITIVE_INFINITY),
      sleeps,
      stops,
    )({ ...input, deadline }).then(
      () => undefined,
      (e: unknown) => e,
    );

    // Assess: not a TaskBusy (a counted failure): not attempted, and no wait started.
    expect(error).toBeInstanceOf(DeadlineError);
    expect(sleeps).toEqual([]);
    expect(stops).toEqual([]);
  });
});

describe('lifecycle wait for the create', () => {
  /** A ledger that has no entry for the task: its create has not been ingested. */
  const noTask: LifecycleLedger = {
    lifecycle: async () => undefined,
    claimLifecycle: async () => true,
    commitLifecycle: async () => true,
    releaseLifecycle: async () => {},
  };
  const attempt = (taskWaitsBefore: number) =>
    applier(
      noTask,
      [],
      [],
    )({ ...input, taskWaitsBefore }).then(
      () => undefined,
      (e: unknown) => e,
    );

  it('counts its waits, not its receives: TRANSIENT TaskNotFound until the 7th wait of 10, then PERMANENT', async () => {
    // Act
    const sixth = await attempt(taskWaitReceive(10) - 2);
    const seventh = await attempt(taskWaitReceive(10) - 1);

    // Assess
    expect(sixth).toBeInstanceOf(IngestRetryError);
    expect(sixth).toMatchObject({ code: TASK_NOT_FOUND_CODE });
    expect(seventh).toBeInstanceOf(IngestRefusalError);
    expect(seventh).toMatchObject({ code: TASK_NOT_FOUND_CODE });
    expect((seventh as Error).message).toMatch(
      /after 7 receives waiting for it; replay it once the create exists$/,
    );
  });
});
