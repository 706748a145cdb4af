/**
 * Quota scenario (b) on virtual time: the real budget (lib/budget/budget.ts, on the in-memory store
 * that test/integration/budget-store.test.ts holds to the DynamoDB one) shared by 4 instances of 4
 * record workers each, beside another caller it cannot see, on one token bucket (rate = burst = 2/s).
 * Seconds instead of minutes, and 24 seeds instead of one, so a change to the rate policy
 * (lib/budget/curve.ts) can be judged on the spread and not on one run. `npm run bench -- quota`
 * remains the measurement of record; this is the study behind it.
 *
 * Each run: the other caller calls every `gap` (uniform) from 0 to 60 s with 1 attempt; ingest has a
 * backlog all run long; each ingest call waits for its slot, reaches the bucket after half a
 * 40 ms round trip, and a throttled one is retried once by the SDK after a random 0–1 s backoff
 * (2 attempts, as the function's Connect client). Budget store calls take 3–9 ms each way.
 *
 * Policies:
 * - budget: the service's budget as configured by default;
 * - oracle: a constant rate of 0.9 × what the other caller leaves on average, known from the first
 *   second, never learning or probing (what a ≥ 0.8 share of what it leaves needs; no budget can do
 *   better without knowing the future).
 */

import { createMemoryBudgetStore } from '#common/memory-budget-store.ts';
import { tokenBucket, virtualTime } from '#common/quota-sim.ts';
import { seededRandom } from '#common/random.ts';
import { type BudgetOptions, createBudget } from '#lib/budget/budget.ts';
import { type CurvePhase, curveAt, DEFAULT_CURVE } from '#lib/budget/curve.ts';
import type { BudgetStore } from '#lib/budget/store.ts';
import { type Reporter, secondsBackToQuota } from './report.ts';

const QUOTA = 2;
const OTHER_UNTIL_MS = 60_000;
const RUN_MS = 100_000;
const WINDOW_FROM_MS = 15_000;
const CALL_LATENCY_MS = 40;
const STORE_LATENCY_MS = 6;

interface Call {
  at: number;
  who: 'ingest' | 'other';
  ok: boolean;
  /** Where the budget's curve stood ("after" = within 3 s of a decrease). */
  phase: CurvePhase | 'after';
}

interface SimRun {
  ingestShare: number;
  otherShare: number;
  perLeft: number;
  recoverySeconds: number;
  otherThrottledByPhase: Record<string, number>;
}

/** A store whose calls take a few virtual milliseconds each way, as DynamoDB's do. */
function slowStore(
  store: BudgetStore,
  sleep: (ms: number) => Promise<void>,
  random: () => number,
): BudgetStore {
  const lag = () => sleep(STORE_LATENCY_MS * (0.5 + random()));
  const slow =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await lag();
      const out = await f(...args);
      await lag();
      return out;
    };
  return {
    claim: slow(store.claim.bind(store)),
    read: slow(store.read.bind(store)),
    throttled: slow(store.throttled.bind(store)),
    markFallback: store.markFallback.bind(store),
    addStats: slow(store.addStats.bind(store)),
  };
}

async function simulate(
  seed: number,
  gapMs: [number, number],
  budget: Partial<BudgetOptions>,
): Promise<SimRun> {
  const vt = virtualTime(1_800_000_000_000);
  const t0 = vt.clock();
  const random = seededRandom(seed * 7919 + 13);
  const otherRandom = seededRandom(seed);
  const memory = createMemoryBudgetStore();
  const store = slowStore(memory, vt.sleep, random);
  const curve = budget.curve ?? DEFAULT_CURVE;
  const calls: Call[] = [];
  const bucket = tokenBucket(QUOTA, QUOTA, vt.clock);
  const call = (who: Call['who']): boolean => {
    const t = vt.clock();
    const ok = bucket.take();
    const { wmax, throttleAt } = memory.item;
    const recent = throttleAt !== undefined && t - throttleAt < 3_000;
    const phase = recent ? 'after' : curveAt({ hold: wmax ?? curve.max, throttleAt }, t, curve).phase;
    calls.push({ at: t - t0, who, ok, phase });
    return ok;
  };
  let stopped = false;
  for (let instance = 0; instance < 4; instance += 1) {
    const b = createBudget({
      store,
      ceiling: QUOTA,
      instances: 8,
      clock: vt.clock,
      sleep: vt.sleep,
      random,
      ...budget,
    });
    for (let worker = 0; worker < 4; worker += 1) {
      void (async () => {
        await vt.sleep(random() * 200);
        while (!stopped) {
          for (let attempt = 1; attempt <= 2; attempt += 1) {
            await b.acquire('normal');
            await vt.sleep(CALL_LATENCY_MS / 2);
            const ok = call('ingest');
            await vt.sleep(CALL_LATENCY_MS / 2);
            if (ok) break;
            b.throttled();
            if (attempt === 1) await vt.sleep(random() * 1000);
          }
          await vt.sleep(5 + random() * 10);
        }
      })();
    }
  }
  void (async () => {
    for (
      let next = t0 + gapMs[0] + otherRandom() * (gapMs[1] - gapMs[0]);
      next < t0 + OTHER_UNTIL_MS;
      next += gapMs[0] + otherRandom() * (gapMs[1] - gapMs[0])
    ) {
      await vt.sleep(next - vt.clock());
      void vt.sleep(CALL_LATENCY_MS / 2).then(() => call('other'));
    }
  })();
  await vt.runUntil(t0 + RUN_MS);
  stopped = true;
  return figures(calls);
}

/** The bench's (b) figures from one run's calls (bench/quota.ts, sharingFigures). */
function figures(calls: readonly Call[]): SimRun {
  const until = (c: Call) => c.at < OTHER_UNTIL_MS;
  const share = (who: Call['who']) => {
    const mine = calls.filter((c) => c.who === who && until(c));
    return mine.filter((c) => !c.ok).length / Math.max(1, mine.length);
  };
  const inWindow = (c: Call) => c.at >= WINDOW_FROM_MS && c.at < OTHER_UNTIL_MS;
  const seconds = (OTHER_UNTIL_MS - WINDOW_FROM_MS) / 1000;
  const rate = (who: Call['who']) =>
    calls.filter((c) => c.who === who && c.ok && inWindow(c)).length / seconds;
  const ok = calls.filter((c) => c.who === 'ingest' && c.ok).map((c) => c.at);
  const recoverySeconds = secondsBackToQuota(ok, OTHER_UNTIL_MS, QUOTA);
  const otherThrottledByPhase: Record<string, number> = {};
  for (const c of calls) {
    if (c.who === 'other' && !c.ok && until(c))
      otherThrottledByPhase[c.phase] = (otherThrottledByPhase[c.phase] ?? 0) + 1;
  }
  return {
    ingestShare: share('ingest'),
    otherShare: share('other'),
    perLeft: rate('ingest') / (QUOTA - rate('other')),
    recoverySeconds,
    otherThrottledByPhase,
  };
}

/** A budget that runs at `fraction` of the ceiling whatever happens (the oracle). */
function constant(fraction: number): Partial<BudgetOptions> {
  return {
    curve: { ...DEFAULT_CURVE, max: fraction, floor: fraction, probeLevel: fraction },
    slotJitter: 0,
    pauseMs: 0,
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function quotaSimBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const seeds = Array.from({ length: options.quick ? 6 : 24 }, (_, i) => i + 1);
  const scenarios: Array<{ label: string; gapMs: [number, number] }> = [
    { label: 'other ~1/s (gaps 0.5–1.5 s, as the bench)', gapMs: [500, 1500] },
    { label: 'other ~0.5/s (gaps 1–3 s)', gapMs: [1000, 3000] },
  ];
  report.line('');
  report.line('== quota-sim: scenario (b) on virtual time, the real budget, many seeds ==');
  report.line(
    `quota ${QUOTA}/s = burst, 4 instances × 4 workers, another caller from 0 to 60 s; ${seeds.length} seeds. ` +
      'Throttled shares over [0, 60 s); share = ingest ÷ what the other leaves over [15 s, 60 s); back = s after 60 s until ' +
      "ingest's 5-s rate ≥ 0.95 × quota. oracle = a constant 0.9 × what the other leaves on average, never learning.",
  );
  const rows = [];
  for (const scenario of scenarios) {
    const otherRate = 2000 / (scenario.gapMs[0] + scenario.gapMs[1]);
    const policies: Array<[string, Partial<BudgetOptions>]> = [
      ['budget', {}],
      ['oracle', constant((0.9 * (QUOTA - otherRate)) / QUOTA)],
    ];
    for (const [policy, budget] of policies) {
      const runs: SimRun[] = [];
      for (const seed of seeds) runs.push(await simulate(seed, scenario.gapMs, budget));
      const byPhase: Record<string, number> = {};
      for (const r of runs)
        for (const [phase, n] of Object.entries(r.otherThrottledByPhase))
          byPhase[phase] = (byPhase[phase] ?? 0) + n;
      const f = {
        ingestMean: mean(runs.map((r) => r.ingestShare)),
        ingestMax: Math.max(...runs.map((r) => r.ingestShare)),
        otherMean: mean(runs.map((r) => r.otherShare)),
        otherMax: Math.max(...runs.map((r) => r.otherShare)),
        perLeftMin: Math.min(...runs.map((r) => r.perLeft)),
        perLeftMean: mean(runs.map((r) => r.perLeft)),
        recoveryMax: Math.max(...runs.map((r) => r.recoverySeconds)),
      };
      report.json('quota-sim', {
        scenario: scenario.label,
        policy,
        seeds: seeds.length,
        ...f,
        recoveryMax: Number.isFinite(f.recoveryMax) ? f.recoveryMax : null,
        otherThrottledByPhase: byPhase,
      });
      rows.push([
        scenario.label,
        policy,
        100 * f.ingestMean,
        100 * f.ingestMax,
        100 * f.otherMean,
        100 * f.otherMax,
        f.perLeftMin,
        f.perLeftMean,
        Number.isFinite(f.recoveryMax) ? f.recoveryMax : 'never',
        policy === 'budget'
          ? Object.entries(byPhase)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')
          : '',
      ]);
    }
  }
  report.table(
    'quota-sim: scenario (b) on virtual time',
    [
      'other caller',
      'policy',
      'ingest thr % mean',
      'max',
      'other thr % mean',
      'max',
      'share min',
      'mean',
      'back max s',
      "other's 429s by budget phase",
    ],
    rows,
  );
}
