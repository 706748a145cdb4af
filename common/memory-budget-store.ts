/**
 * An in-memory BudgetStore: the port's semantics (lib/budget/store.ts) without DynamoDB, for unit
 * tests on virtual time. test/integration/budget-store.test.ts runs the same contract cases against
 * it and against DynamoBudgetStore on the sandbox, so the two cannot drift.
 */
import type { BudgetItem, BudgetStore, ClaimInput, ClaimResult, StatsDelta } from '#lib/budget/store.ts';
import type { Lane } from '#lib/lanes.ts';

export interface MemoryBudgetStore extends BudgetStore {
  /** The item as stored. */
  readonly item: BudgetItem;
  /** Statistics items by minute. */
  readonly stats: Map<number, StatsDelta>;
  /** Calls made to the store, by method. */
  readonly calls: Record<'claim' | 'read' | 'throttled' | 'addStats', number>;
  /** The last fallback mark. */
  readonly fallbackAt: number | undefined;
  /** Makes every following call fail with this error (undefined: work again). */
  fail(error: Error | undefined): void;
}

export function createMemoryBudgetStore(): MemoryBudgetStore {
  let item: BudgetItem = { demandUntil: {}, floorAt: {} };
  const stats = new Map<number, StatsDelta>();
  const calls = { claim: 0, read: 0, throttled: 0, addStats: 0 };
  let failure: Error | undefined;
  let fallbackAt: number | undefined;
  const copy = (i: BudgetItem): BudgetItem => ({
    ...i,
    demandUntil: { ...i.demandUntil },
    floorAt: { ...i.floorAt },
  });
  const check = () => {
    if (failure) throw failure;
  };

  function conditionHolds(input: ClaimInput): boolean {
    const tat = item.tat;
    if (input.mode === 'idle') return tat === undefined || tat <= input.now;
    if (tat === undefined || !(tat > input.now && tat <= input.latest)) return false;
    if (input.higher.length === 0) return true;
    const free = input.higher.every((h: Lane) => {
      const d = item.demandUntil[h];
      return d === undefined || d <= input.now;
    });
    const floor = item.floorAt[input.lane];
    return free || floor === undefined || floor <= input.floorDue;
  }

  return {
    get item() {
      return copy(item);
    },
    stats,
    calls,
    get fallbackAt() {
      return fallbackAt;
    },
    fail(error) {
      failure = error;
    },
    async claim(input: ClaimInput): Promise<ClaimResult> {
      calls.claim += 1;
      check();
      if (!conditionHolds(input)) return { granted: false };
      const slot = input.mode === 'idle' ? input.now : (item.tat as number);
      item = {
        ...item,
        tat: slot + input.intervalMs,
        ceiling: input.ceiling,
        demandUntil: { ...item.demandUntil, [input.lane]: slot + input.intervalMs / 2 },
        floorAt: { ...item.floorAt, [input.lane]: slot },
      };
      return { granted: true, slot, item: copy(item) };
    },
    async read() {
      calls.read += 1;
      check();
      return copy(item);
    },
    async throttled(input) {
      calls.throttled += 1;
      check();
      if (item.throttleAt !== undefined && item.throttleAt > input.since) return undefined;
      item = { ...item, wmax: input.wmax, throttleAt: input.now };
      if (item.tat === undefined || item.tat < input.resumeAt) item.tat = input.resumeAt;
      return copy(item);
    },
    async markFallback(at) {
      check();
      fallbackAt = at;
    },
    async addStats(minute, delta) {
      calls.addStats += 1;
      check();
      const s = stats.get(minute) ?? { calls: 0, throttled: 0, granted: {}, waitMs: {} };
      s.calls += delta.calls;
      s.throttled += delta.throttled;
      for (const [lane, n] of Object.entries(delta.granted) as [Lane, number][]) {
        s.granted[lane] = (s.granted[lane] ?? 0) + n;
        s.waitMs[lane] = (s.waitMs[lane] ?? 0) + (delta.waitMs[lane] ?? 0);
      }
      stats.set(minute, s);
    },
  };
}
