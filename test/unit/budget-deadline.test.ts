/**
 * The budget within an invocation's time (lib/budget/budget.ts, lib/retry/deadline.ts): no waiter
 * starts waiting, and no slot is booked, past what the deadline allows. Virtual time, no network.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '#common/memory-budget-store.ts';
import { type VirtualTime, virtualTime } from '#common/quota-sim.ts';
import { createBudget } from '#lib/budget/budget.ts';
import type { Deadline } from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';

const T0 = 1_800_000_000_000;

/** The virtual time the shared budget runs on (the local budget's limiter runs on vitest's fake timers). */
let vt: VirtualTime;
/** The clock the test reads: the virtual one, or the fake timers' for the local budget. */
let clockNow: () => number = Date.now;

/** An invocation with `remainingMs` left at T0 (counting down on the fake clock), keeping `marginMs` back. */
function deadlineAt(remainingMs: number, marginMs: number): Deadline {
  return { remainingMs: () => T0 + remainingMs - clockNow(), marginMs };
}

/** When `promise` settled on the fake clock, and its error if it rejected. */
function settle(promise: Promise<void>): Promise<{ at: number; error?: unknown }> {
  return promise.then(
    () => ({ at: clockNow() }),
    (error: unknown) => ({ at: clockNow(), error }),
  );
}

/** At the top of the curve the budget runs at 0.99 of its ceiling (lib/budget/curve.ts). */
const intervalAt = (ceiling: number) => 1000 / (ceiling * 0.99);

/** Grants at these offsets from T0, to the millisecond. */
const grantsAt = (offsets: number[]) => offsets.map((ms) => ({ at: Math.round(T0 + ms) }));

/** The outcomes' times to the millisecond (the virtual clock keeps fractions). */
const toMs = (outcomes: Array<{ at: number; error?: unknown }>) =>
  outcomes.map((o) => ({ ...o, at: Math.round(o.at) }));

/** Runs the virtual clock until `work` settles, and returns its value. */
function settled<T>(work: Promise<T>): Promise<T> {
  return vt.settle(work);
}

describe('the budget within the invocation’s time', () => {
  beforeEach(() => {
    vt = virtualTime(T0);
    clockNow = vt.clock;
  });

  it('turns a waiter away at once, booking nothing, when the next free slot is past its deadline', async () => {
    // Prepare: other instances have booked the schedule a minute ahead; 20 s left, 10 s kept back.
    const store = createMemoryBudgetStore();
    await store.claim({
      lane: 'normal',
      now: T0,
      intervalMs: 60_000,
      ceiling: 2,
      mode: 'idle',
      latest: T0,
      higher: [],
      floorDue: T0,
    });
    const budget = createBudget({
      clock: vt.clock,
      sleep: vt.sleep,
      store,
      ceiling: 2,
      instances: 4,
      random: () => 0,
    });

    // Act
    const outcome = await settled(settle(budget.acquire('normal', deadlineAt(20_000, 10_000))));

    // Assess: rejected without waiting and without moving the schedule.
    expect(outcome.error).toBeInstanceOf(DeadlineError);
    expect((outcome.error as DeadlineError).code).toBe('NotAttempted');
    expect(outcome.at).toBe(T0);
    expect(store.item.tat).toBe(T0 + 60_000);
  });

  it('books no slot past the deadline: grants the slots that fit and turns the others away', async () => {
    // Prepare: 0.2 calls/s (a slot every 5 s); 22 s left, 10 s kept back: slots up to T0 + 12 s.
    const store = createMemoryBudgetStore();
    const budget = createBudget({
      clock: vt.clock,
      sleep: vt.sleep,
      store,
      ceiling: 0.2,
      instances: 4,
      random: () => 0,
      slotJitter: 0,
    });
    const deadline = deadlineAt(22_000, 10_000);

    // Act: five calls of one invocation wait at once.
    const outcomes = await settled(
      Promise.all(Array.from({ length: 5 }, () => settle(budget.acquire('normal', deadline)))),
    );

    // Assess: three slots (T0, +5 s, +10 s) granted; the fourth and fifth never waited for theirs.
    const i = intervalAt(0.2);
    expect(toMs(outcomes.slice(0, 3))).toEqual(grantsAt([0, i, 2 * i]));
    for (const late of outcomes.slice(3)) {
      expect(late.error).toBeInstanceOf(DeadlineError);
      expect(late.at).toBe(T0);
    }
    expect(store.item.tat).toBeCloseTo(T0 + 3 * i, 0);
  });

  it('waits for its slot however long when no deadline is given', async () => {
    const store = createMemoryBudgetStore();
    const budget = createBudget({
      clock: vt.clock,
      sleep: vt.sleep,
      store,
      ceiling: 0.2,
      instances: 4,
      random: () => 0,
      slotJitter: 0,
    });

    const outcomes = await settled(Promise.all(Array.from({ length: 4 }, () => settle(budget.acquire()))));

    const i = intervalAt(0.2);
    expect(toMs(outcomes)).toEqual(grantsAt([0, i, 2 * i, 3 * i]));
  });
});
