import { describe, expect, it } from 'vitest';
import { curveFraction, DEFAULT_CURVE } from '#lib/budget/curve.ts';

/** The budget's fraction when never throttled (just under the ceiling). */
const TOP = DEFAULT_CURVE.max;

import { BudgetStatusError } from '#lib/budget/errors.ts';
import {
  type BudgetRecord,
  type BudgetStatusPort,
  epochMinute,
  estimateDrain,
  type OperationStatus,
  readBudgetStatus,
  statsItemId,
} from '#lib/budget/status.ts';

/** 30 s into a minute, so the 5-minute window covers 4.5 minutes = 270 s. */
const NOW = Date.parse('2025-03-01T10:04:30.000Z');
const MINUTE = epochMinute(NOW);

/** A port over a map of items; records which ids were asked for. */
function fakePort(items: Record<string, BudgetRecord>) {
  const asked: { get: string[]; batch: string[][] } = { get: [], batch: [] };
  const port: BudgetStatusPort = {
    async getItem(id) {
      asked.get.push(id);
      return items[id];
    },
    async getItems(ids) {
      asked.batch.push([...ids]);
      const found = new Map<string, BudgetRecord>();
      for (const id of ids) {
        const item = items[id];
        if (item) found.set(id, item);
      }
      return found;
    },
  };
  return { port, asked };
}

function op(status: Awaited<ReturnType<typeof readBudgetStatus>>, name: string): OperationStatus {
  const found = status.operations.find((o) => o.operation === name);
  if (!found) throw new Error(`no ${name} in the status`);
  return found;
}

describe('readBudgetStatus', () => {
  it('sums calls and throttles over the window and derives the throttled share and achieved rate', async () => {
    // Prepare
    const { port, asked } = fakePort({
      StartTaskContact: { id: 'StartTaskContact', tat: NOW, ceiling: 2 },
      [statsItemId('StartTaskContact', MINUTE - 4)]: { calls: 100, throttled: 10 },
      [statsItemId('StartTaskContact', MINUTE - 2)]: { calls: 80 },
      [statsItemId('StartTaskContact', MINUTE)]: { calls: 20, throttled: 2, expiresAt: 1 },
      // Outside the window: ignored.
      [statsItemId('StartTaskContact', MINUTE - 5)]: { calls: 1_000, throttled: 1_000 },
    });

    // Act
    const status = await readBudgetStatus({ port, now: NOW });
    const start = op(status, 'StartTaskContact');

    // Assess
    expect(status.minutes).toBe(5);
    expect(start.minutes.map((m) => [m.minute - MINUTE, m.calls, m.throttled])).toEqual([
      [-4, 100, 10],
      [-3, 0, 0],
      [-2, 80, 0],
      [-1, 0, 0],
      [0, 20, 2],
    ]);
    expect(start.minutes[0]?.startsAt).toBe('2025-03-01T10:00:00.000Z');
    expect(start.window).toEqual({
      minutes: 5,
      seconds: 270,
      calls: 200,
      throttled: 12,
      throttledShare: 0.06,
      achievedPerSecond: 188 / 270,
      budgetShare: 188 / 270 / (2 * TOP),
    });
    expect(asked.get.sort()).toEqual(['StartTaskContact', 'TransferContact']);
    expect(asked.batch.flat()).toHaveLength(10);
  });

  it('computes the current budget from the curve state after a throttle', async () => {
    // Prepare
    const throttleAt = NOW - 2_000;
    const { port } = fakePort({
      StartTaskContact: {
        id: 'StartTaskContact',
        ceiling: 4,
        wmax: 0.8,
        throttleAt,
        fallbackAt: NOW - 60_000,
      },
    });

    // Act
    const start = op(await readBudgetStatus({ port, now: NOW }), 'StartTaskContact');

    // Assess
    const fraction = curveFraction({ hold: 0.8, throttleAt }, NOW);
    expect(fraction).toBeGreaterThanOrEqual(0.8);
    expect(fraction).toBeLessThan(0.81);
    expect(start.budget).toEqual({ ratePerSecond: 4 * fraction, fraction, phase: 'hold' });
    expect(start.lastThrottle).toEqual({ at: new Date(throttleAt).toISOString(), agoSeconds: 2, hold: 0.8 });
    expect(start.fallback).toEqual({ lastAt: new Date(NOW - 60_000).toISOString(), recent: true });
  });

  it('reports the top of the curve as the budget when never throttled, and an old fallback as not recent', async () => {
    // Prepare
    const { port } = fakePort({
      StartTaskContact: { id: 'StartTaskContact', ceiling: 2, fallbackAt: NOW - 3_600_000 },
    });

    // Act
    const start = op(await readBudgetStatus({ port, now: NOW, minutes: 5 }), 'StartTaskContact');

    // Assess
    expect(start.budget).toEqual({ ratePerSecond: 2 * TOP, fraction: TOP, phase: 'top' });
    expect(start.lastThrottle).toBeNull();
    expect(start.fallback.recent).toBe(false);
    expect(start.window.throttledShare).toBeNull();
    expect(start.window.achievedPerSecond).toBe(0);
    expect(start.window.budgetShare).toBe(0);
  });

  it('reads a missing budget item as "no calls yet" and missing minutes as zeros', async () => {
    // Act
    const status = await readBudgetStatus({ port: fakePort({}).port, now: NOW, minutes: 2 });

    // Assess
    for (const name of ['StartTaskContact', 'TransferContact']) {
      const o = op(status, name);
      expect(o.hasBudget).toBe(false);
      expect(o.ceiling).toBeNull();
      expect(o.budget).toBeNull();
      expect(o.lastThrottle).toBeNull();
      expect(o.fallback).toEqual({ lastAt: null, recent: false });
      expect(o.minutes.map((m) => m.calls)).toEqual([0, 0]);
      expect(o.window).toMatchObject({ calls: 0, throttledShare: null, budgetShare: null, seconds: 90 });
      expect(o.lanes.urgent).toEqual({
        granted: 0,
        waitMs: 0,
        meanWaitMs: null,
        grantedPerSecond: 0,
        lastDemandAt: null,
      });
    }
  });

  it('sums grants and waits per lane and gives the mean wait and the last demand', async () => {
    // Prepare
    const { port } = fakePort({
      StartTaskContact: { id: 'StartTaskContact', ceiling: 2, floorAt_urgent: NOW - 5_000 },
      [statsItemId('StartTaskContact', MINUTE - 1)]: {
        calls: 30,
        granted_urgent: 10,
        waitMs_urgent: 1_000,
        granted_bulk: 5,
        waitMs_bulk: 20_000,
      },
      [statsItemId('StartTaskContact', MINUTE)]: { calls: 12, granted_urgent: 10, waitMs_urgent: 3_000 },
    });

    // Act
    const start = op(await readBudgetStatus({ port, now: NOW, minutes: 2 }), 'StartTaskContact');

    // Assess
    expect(start.lanes.urgent).toEqual({
      granted: 20,
      waitMs: 4_000,
      meanWaitMs: 200,
      grantedPerSecond: 20 / 90,
      lastDemandAt: new Date(NOW - 5_000).toISOString(),
    });
    expect(start.lanes.bulk.meanWaitMs).toBe(4_000);
    expect(start.lanes.normal).toMatchObject({ granted: 0, meanWaitMs: null, lastDemandAt: null });
  });

  it('ignores attributes that are not numbers', async () => {
    // Prepare
    const { port } = fakePort({
      StartTaskContact: { id: 'StartTaskContact', ceiling: '2', wmax: 0.5 },
      [statsItemId('StartTaskContact', MINUTE)]: { calls: 'many', throttled: 1 },
    });

    // Act
    const start = op(await readBudgetStatus({ port, now: NOW, minutes: 1 }), 'StartTaskContact');

    // Assess
    expect(start.hasBudget).toBe(true);
    expect(start.ceiling).toBeNull();
    expect(start.budget).toBeNull();
    expect(start.lastThrottle).toBeNull();
    expect(start.window).toMatchObject({ calls: 0, throttled: 1, achievedPerSecond: 0 });
  });

  it.each([0, -1, 1.5, 1_441])('refuses a window of %s minutes', async (minutes) => {
    await expect(readBudgetStatus({ port: fakePort({}).port, now: NOW, minutes })).rejects.toBeInstanceOf(
      BudgetStatusError,
    );
  });
});

describe('estimateDrain', () => {
  async function statusOf(items: Record<string, BudgetRecord>): Promise<OperationStatus> {
    return op(
      await readBudgetStatus({ port: fakePort(items).port, now: NOW, minutes: 1 }),
      'StartTaskContact',
    );
  }

  it('divides the backlog by the achieved rate when calls succeeded in the window', async () => {
    // Prepare: 30 s into the minute, 15 successful calls = 0.5/s.
    const status = await statusOf({
      StartTaskContact: { id: 'StartTaskContact', ceiling: 2 },
      [statsItemId('StartTaskContact', MINUTE)]: { calls: 20, throttled: 5 },
    });

    // Act / Assess
    expect(estimateDrain(100, status)).toEqual({
      backlog: 100,
      seconds: 200,
      basis: 'achieved',
      ratePerSecond: 0.5,
    });
  });

  it('divides by the current budget when nothing succeeded in the window', async () => {
    // Prepare
    const status = await statusOf({
      StartTaskContact: { id: 'StartTaskContact', ceiling: 2 },
      [statsItemId('StartTaskContact', MINUTE)]: { calls: 3, throttled: 3 },
    });

    // Act / Assess
    expect(estimateDrain(10, status)).toEqual({
      backlog: 10,
      seconds: 10 / (2 * TOP),
      basis: 'budget',
      ratePerSecond: 2 * TOP,
    });
  });

  it('says unknown without calls or a budget, and empty without a backlog', async () => {
    // Prepare
    const status = await statusOf({});

    // Act / Assess
    expect(estimateDrain(10, status)).toEqual({
      backlog: 10,
      seconds: null,
      basis: 'unknown',
      ratePerSecond: null,
    });
    expect(estimateDrain(10, undefined).basis).toBe('unknown');
    expect(estimateDrain(0, status)).toEqual({ backlog: 0, seconds: 0, basis: 'empty', ratePerSecond: null });
  });
});
