/**
 * The active-task gate (lib/capacity/gate.ts) over the shared slot count: a slot per call up to the
 * quota, then refused without a call (OVER_QUOTA); an event coming back from the DLQ, or a count that
 * is known stale (above the quota), goes to Connect anyway; a slot given back frees the way.
 */
import { describe, expect, it } from 'vitest';
import { ActiveTasksAtQuotaError } from '#lib/capacity/errors.ts';
import { createCapacityGate } from '#lib/capacity/gate.ts';
import { classifyError } from '#lib/retry/classify.ts';
import { InMemoryLedger } from '#test/support/memory-ledger.ts';

const FIRST = { replay: false };

describe('the active-task gate', () => {
  it('takes slots up to the quota, then refuses without a call, as OVER_QUOTA', async () => {
    // Prepare
    const gate = createCapacityGate({ slots: new InMemoryLedger(), quota: 2 });
    // Act
    await gate.take('i-1', FIRST);
    await gate.take('i-1', FIRST);
    const refused = await gate.take('i-1', FIRST).catch((e: unknown) => e);
    // Assess
    expect(refused).toBeInstanceOf(ActiveTasksAtQuotaError);
    expect(classifyError(refused)).toMatchObject({ class: 'OVER_QUOTA', code: 'ActiveTasksAtQuota' });
    await expect(gate.take('i-2', FIRST)).resolves.toBeDefined();
  });

  it('lets a slot given back be taken again', async () => {
    const gate = createCapacityGate({ slots: new InMemoryLedger(), quota: 1 });
    const slot = await gate.take('i-1', FIRST);
    await slot.giveBack();
    await expect(gate.take('i-1', FIRST)).resolves.toBeDefined();
  });

  it('lets an event coming back from the DLQ through to Connect when every slot is taken', async () => {
    const ledger = new InMemoryLedger();
    const gate = createCapacityGate({ slots: ledger, quota: 1 });
    await gate.take('i-1', FIRST);
    await expect(gate.take('i-1', { replay: true })).resolves.toBeDefined();
    expect(await ledger.takeSlot('i-1', 1, false)).toEqual({ taken: false, used: 2 });
  });

  it('takes a count above the quota for stale and lets events through until it is set again', async () => {
    // Prepare: Connect created a replayed task the count said could not fit (contact events were lost).
    const ledger = new InMemoryLedger();
    const gate = createCapacityGate({ slots: ledger, quota: 1 });
    await gate.take('i-1', FIRST);
    await gate.take('i-1', { replay: true });
    // Act
    const stale = await gate.take('i-1', FIRST).catch((e: unknown) => e);
    await ledger.setSlots('i-1', 1);
    const setAgain = await gate.take('i-1', FIRST).catch((e: unknown) => e);
    // Assess
    expect(stale).not.toBeInstanceOf(Error);
    expect(setAgain).toBeInstanceOf(ActiveTasksAtQuotaError);
  });
});
