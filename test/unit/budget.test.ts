import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryBudgetStore } from '#common/memory-budget-store.ts';
import {
  driveBudget,
  newLog,
  outsideCaller,
  rateIn,
  tokenBucket,
  type VirtualTime,
  virtualTime,
} from '#common/quota-sim.ts';
import { seededRandom as seeded } from '#common/random.ts';
import { createBudget, planClaim } from '#lib/budget/budget.ts';
import { type CurveState, curveAt, curveFraction, curveThrottled, DEFAULT_CURVE } from '#lib/budget/curve.ts';
import type { Lane } from '#lib/lanes.ts';

const T0 = 1_800_000_000_000;

describe('the hold-and-probe curve', () => {
  const p = DEFAULT_CURVE;
  const top = { hold: 1, throttleAt: undefined };

  it('is the top of the curve, just under the ceiling, until the first throttle', () => {
    expect(curveAt(top, T0)).toEqual({ phase: 'top', fraction: p.max });
  });

  it('halves on a throttle at the top, then holds, growing additively, until the probe', () => {
    const state = curveThrottled(top, T0);
    expect(state).toEqual({ hold: p.firstBeta * p.max, throttleAt: T0 });
    expect(curveAt(state, T0)).toEqual({ phase: 'hold', fraction: p.firstBeta * p.max });
    const beforeProbe = T0 + p.probeAfterS * 1000 - 1;
    expect(curveAt(state, beforeProbe).phase).toBe('hold');
    expect(curveFraction(state, beforeProbe)).toBeCloseTo(p.firstBeta * p.max + p.growth * p.probeAfterS, 4);
  });

  it('probes for a window, and is back at the top when the probe draws no throttle', () => {
    const state = curveThrottled(top, T0);
    const probeAt = T0 + p.probeAfterS * 1000;
    expect(curveAt(state, probeAt)).toEqual({ phase: 'probe', fraction: p.probeLevel });
    expect(curveAt(state, probeAt + p.probeWindowS * 1000)).toEqual({ phase: 'top', fraction: p.max });
  });

  it('keeps the hold reached when a probe is throttled, and decreases it when the hold is', () => {
    const first = curveThrottled(top, T0);
    const held = first.hold + p.growth * p.probeAfterS;
    const duringProbe = T0 + (p.probeAfterS + 1) * 1000;
    const afterProbe = curveThrottled(first, duringProbe);
    expect(afterProbe.hold).toBeCloseTo(held, 9);
    expect(afterProbe.throttleAt).toBe(duringProbe);
    const whileHolding = curveThrottled(afterProbe, duringProbe + 3_000);
    expect(whileHolding.hold).toBeCloseTo(p.beta * (held + p.growth * 3), 9);
  });

  it('takes a throttle after a successful probe as new congestion at the top', () => {
    const first = curveThrottled(top, T0);
    const later = T0 + (p.probeAfterS + p.probeWindowS + 30) * 1000;
    expect(curveThrottled(first, later)).toEqual({ hold: p.firstBeta * p.max, throttleAt: later });
  });

  it('never goes under the floor nor over the ceiling', () => {
    let state: CurveState = top;
    for (let i = 0; i < 100; i++) state = curveThrottled(state, T0 + i);
    expect(curveFraction(state, T0 + 100)).toBeCloseTo(p.floor, 4);
    expect(curveFraction({ hold: 5, throttleAt: T0 }, T0)).toBe(p.max);
    expect(curveFraction(state, T0 + 3_600_000)).toBe(p.max);
  });
});

describe('planClaim', () => {
  const p = { intervalMs: 500, horizonMs: 10_000, laneFloor: 0.1 };
  const empty = { demandUntil: {}, floorAt: {} };

  it('takes a free schedule at once', () => {
    expect(planClaim({ ...empty, tat: T0 - 1 }, 'bulk', T0, p)).toEqual({ kind: 'claim', mode: 'idle' });
  });

  it('books ahead when no higher lane holds a slot', () => {
    expect(planClaim({ ...empty, tat: T0 + 400 }, 'bulk', T0, p)).toEqual({ kind: 'claim', mode: 'ahead' });
  });

  it('makes a lower lane wait while an urgent slot is held, until the schedule frees', () => {
    const item = { ...empty, tat: T0 + 400, demandUntil: { urgent: T0 + 650 }, floorAt: { bulk: T0 - 100 } };
    expect(planClaim(item, 'bulk', T0, p)).toEqual({ kind: 'wait', until: T0 + 400 });
  });

  it('grants the floor share to a lower lane that has waited ten intervals', () => {
    const item = {
      ...empty,
      tat: T0 + 400,
      demandUntil: { urgent: T0 + 650 },
      floorAt: { bulk: T0 - 5_000 },
    };
    expect(planClaim(item, 'bulk', T0, p)).toEqual({ kind: 'claim', mode: 'ahead' });
  });

  it('never books past the horizon', () => {
    expect(planClaim({ ...empty, tat: T0 + 12_000 }, 'urgent', T0, p)).toEqual({
      kind: 'wait',
      until: T0 + 2_000,
    });
  });
});

describe('createBudget', () => {
  // Every budget, bucket and caller of a test runs on one virtual clock, from T0.
  let vt: VirtualTime;
  let time: Pick<VirtualTime, 'clock' | 'sleep'>;
  beforeEach(() => {
    vt = virtualTime(T0);
    time = { clock: vt.clock, sleep: vt.sleep };
  });

  it('never lets concurrent instances exceed the ceiling together', async () => {
    // Prepare: four instances, each with four waiting calls at a time, on one shared store.
    const store = createMemoryBudgetStore();
    const slots: number[] = [];
    const budgets = Array.from({ length: 4 }, () =>
      createBudget({
        ...time,
        store,
        ceiling: 2,
        instances: 4,
        random: seeded(1),
        onGrant: (g) => slots.push(g.slot),
      }),
    );
    const bucket = tokenBucket(2, 2, vt.clock);
    const log = newLog();
    // Act
    const done = Promise.all(
      budgets.map((b) => driveBudget(b, bucket, time, { workers: 4, until: T0 + 60_000, log })),
    );
    await vt.settle(done);
    // Assess: slots one interval apart, no throttle, the whole quota used.
    const sorted = [...slots].sort((a, b) => a - b);
    const gaps = sorted.slice(1).map((t, i) => t - (sorted[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500 - 1e-6);
    expect(log.throttled).toHaveLength(0);
    expect(rateIn(log.ok, T0, T0 + 60_000)).toBeGreaterThanOrEqual(1.95);
  });

  it('shrinks while an outside caller takes half the quota, throttling neither often, and recovers within 30 s after it leaves', async () => {
    // Prepare: the outside caller makes one call per second on average from 0 to 120 s; our calls
    // reach the bucket up to 2 ms after their slot, as over a network.
    const store = createMemoryBudgetStore();
    const budgets = Array.from({ length: 4 }, (_, i) =>
      createBudget({ ...time, store, ceiling: 2, instances: 4, random: seeded(100 + i) }),
    );
    const bucket = tokenBucket(2, 2, vt.clock);
    const ours = newLog();
    const theirs = newLog();
    outsideCaller(bucket, time, { everyMs: 1000, from: T0, until: T0 + 120_000, log: theirs });
    // Act
    const done = Promise.all(
      budgets.map((b, i) =>
        driveBudget(b, bucket, time, {
          workers: 2,
          until: T0 + 180_000,
          log: ours,
          jitterMs: 2,
          seed: 7 + i,
        }),
      ),
    );
    await vt.settle(done);
    // Assess: it gets most of what the other caller leaves without taking what the other uses, …
    const during = rateIn(ours.ok, T0 + 30_000, T0 + 120_000);
    const theirsDuring = rateIn(theirs.ok, T0 + 30_000, T0 + 120_000);
    expect(during).toBeGreaterThanOrEqual(0.7 * (2 - theirsDuring));
    expect(during).toBeLessThanOrEqual(1.2);
    expect(theirsDuring).toBeGreaterThanOrEqual(0.8);
    // … and takes the whole quota back within 30 s of the other caller leaving.
    expect(rateIn(ours.ok, T0 + 150_000, T0 + 180_000)).toBeGreaterThanOrEqual(0.95 * 2);
    const share = (log: typeof ours, from: number, until: number) => {
      const inWindow = (t: number) => t >= from && t < until;
      const throttled = log.throttled.filter(inWindow).length;
      return throttled / (throttled + log.ok.filter(inWindow).length);
    };
    // Beside it, both callers see few 429s: the budget holds under what the other leaves and spends
    // about one throttle per probe (CUBIC, before, throttled both about twice as often).
    expect(share(ours, T0, T0 + 120_000)).toBeLessThanOrEqual(0.1);
    expect(share(theirs, T0, T0 + 120_000)).toBeLessThanOrEqual(0.1);
  });

  it('falls back to the local rate when the store fails, and keeps granting', async () => {
    // Prepare
    const store = createMemoryBudgetStore();
    store.fail(new Error('ProvisionedThroughputExceededException'));
    const fallbacks: unknown[] = [];
    const grants: Array<{ slot: number; shared: boolean }> = [];
    const budget = createBudget({
      ...time,
      store,
      ceiling: 2,
      instances: 4,
      fallbackMs: 30_000,
      random: () => 0,
      onFallback: (e) => fallbacks.push(e),
      onGrant: (g) => grants.push(g),
    });
    const log = newLog();
    // Act: 40 s; the store works again after 20 s.
    const done = driveBudget(budget, tokenBucket(2, 2, vt.clock), time, {
      workers: 4,
      until: T0 + 40_000,
      log,
    });
    await vt.runFor(20_000);
    store.fail(undefined);
    await vt.settle(done);
    // Assess: one fallback episode at ceiling ÷ instances, then shared slots again after fallbackMs.
    expect(fallbacks).toHaveLength(1);
    expect(store.fallbackAt).toBe(T0);
    const local = grants.filter((g) => !g.shared && g.slot < T0 + 30_000);
    expect(local.length).toBeGreaterThanOrEqual(14);
    expect(local.length).toBeLessThanOrEqual(16);
    const shared = grants.filter((g) => g.shared);
    expect(shared.length).toBeGreaterThan(0);
    expect(Math.min(...shared.map((g) => g.slot))).toBeGreaterThanOrEqual(T0 + 30_000);
  });

  it('serves an instance’s waiting lanes in priority order', async () => {
    // Prepare: ten bulk waiters, then three urgent ones.
    const store = createMemoryBudgetStore();
    const order: Lane[] = [];
    const budget = createBudget({
      ...time,
      store,
      ceiling: 2,
      instances: 1,
      onGrant: (g) => order.push(g.lane),
    });
    const all: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) all.push(budget.acquire('bulk'));
    for (let i = 0; i < 3; i++) all.push(budget.acquire('urgent'));
    // Act
    await vt.runFor(8_000);
    await Promise.all(all);
    // Assess: the slot claimed for the first bulk waiter goes to the most urgent waiter by then.
    expect(order).toEqual([...Array(3).fill('urgent'), ...Array(10).fill('bulk')]);
  });

  it('lets an urgent lane through a bulk backlog of other instances, and keeps bulk moving', async () => {
    // Prepare: two instances drain bulk; a third gets an urgent event every 3 s.
    const store = createMemoryBudgetStore();
    const bucket = tokenBucket(2, 2, vt.clock);
    const bulkLog = newLog();
    const bulk = [0, 1].map((i) =>
      createBudget({ ...time, store, ceiling: 2, instances: 3, random: seeded(10 + i) }),
    );
    const urgent = createBudget({ ...time, store, ceiling: 2, instances: 3, random: seeded(12) });
    const waits: number[] = [];
    const bulkDone = Promise.all(
      bulk.map((b) =>
        driveBudget(b, bucket, time, { workers: 4, until: T0 + 60_000, lane: 'bulk', log: bulkLog }),
      ),
    );
    const urgentDone = (async () => {
      for (let i = 0; i < 15; i++) {
        const sent = vt.clock();
        void urgent.acquire('urgent').then(() => {
          waits.push(vt.clock() - sent);
          bucket.take();
        });
        await vt.sleep(3_000);
      }
    })();
    // Act
    await vt.settle(Promise.all([bulkDone, urgentDone]));
    // Assess
    expect(waits).toHaveLength(15);
    // At most the two slots booked ahead, a pause and its own jitter: well under the 5 s target.
    expect(Math.max(...waits)).toBeLessThanOrEqual(2_000);
    expect(rateIn(bulkLog.ok, T0, T0 + 60_000)).toBeGreaterThanOrEqual(1.4);
  });

  it('jitters its calls at the top and while probing, and keeps them to their slots while holding', async () => {
    // Prepare: a decrease recorded 1 s ago (holding), or 19 s ago (probing); jitter at its largest.
    const lateness = async (decreasedAgoMs: number) => {
      const store = createMemoryBudgetStore();
      await store.throttled({ now: vt.clock() - decreasedAgoMs, wmax: 0.5, since: 0, resumeAt: 0 });
      const late: number[] = [];
      const budget = createBudget({
        ...time,
        store,
        ceiling: 2,
        instances: 1,
        random: () => 0.999,
        onGrant: (g) => late.push(vt.clock() - g.slot),
      });
      const acquired = Promise.all([budget.acquire(), budget.acquire(), budget.acquire()]);
      await vt.runFor(5_000);
      await acquired;
      return late;
    };

    // Act
    const holding = await lateness(1_000);
    const probing = await lateness(19_000);

    // Assess: on their slots while holding; up to half an interval late (0.9 of 2/s) while probing.
    expect(holding).toHaveLength(3);
    // (Slots fall between whole milliseconds.)
    for (const ms of holding) expect(Math.abs(ms)).toBeLessThan(1);
    for (const ms of probing) {
      expect(ms).toBeGreaterThan(200);
      expect(ms).toBeLessThanOrEqual(0.5 * (1000 / (2 * DEFAULT_CURVE.probeLevel)));
    }
  });

  it('writes its statistics per minute', async () => {
    const store = createMemoryBudgetStore();
    const budget = createBudget({ ...time, store, ceiling: 2, instances: 1 });
    const acquired = Promise.all([budget.acquire('urgent'), budget.acquire('bulk')]);
    await vt.runFor(2_000);
    await acquired;
    budget.throttled();
    await budget.flush();
    const minute = store.stats.get(Math.floor(T0 / 60_000));
    expect(minute).toMatchObject({ calls: 2, throttled: 1, granted: { urgent: 1, bulk: 1 } });
  });
});
