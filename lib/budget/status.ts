/**
 * Budget status: what the shared StartTaskContact / TransferContact budget is, how much of it the
 * service got over the last minutes, and how long the backlog will take to drain. Read-only; the
 * `task-ingest status` command and its tests are the callers.
 *
 * What it reads (written by the budget, lib/budget/, in the budget table):
 * - the budget item of an operation, `id` = the operation name: `ceiling` (configured requests/s),
 *   `wmax` and `throttleAt` (the curve's hold and when it was set, lib/budget/curve.ts; both absent =
 *   never throttled),
 *   `floorAt_<lane>` (epoch ms, the lane's last slot) and `fallbackAt` (epoch ms, written when an
 *   instance reaches the table again after pacing at its local rate because it could not);
 * - one stats item per operation and minute, `id` = `<operation>#<epochMinute>`: `calls`,
 *   `throttled`, `granted_<lane>`, `waitMs_<lane>`, each added to with ADD, so any may be absent.
 *
 * The window of N minutes is the current (partial) minute and the N − 1 before it; its length is
 * the time from the start of its first minute to `now`, so rates are per second actually elapsed.
 */
import { LANES, type Lane } from '#lib/lanes.ts';
import { type CurvePhase, curveAt } from './curve.ts';
import { BudgetStatusError } from './errors.ts';

/** The operations that have a budget item. */
export const BUDGET_OPERATIONS = ['StartTaskContact', 'TransferContact'] as const;
type BudgetOperation = (typeof BUDGET_OPERATIONS)[number];

export const DEFAULT_STATUS_MINUTES = 5;
/** Upper bound of the window (the stats items expire; a day of minute items is 1,440 keys per operation). */
export const MAX_STATUS_MINUTES = 1_440;

/** An item of the budget table as stored (numbers as numbers; unknown attributes kept). */
export type BudgetRecord = Readonly<Record<string, unknown>>;

/** What the status reads, and nothing else. */
export interface BudgetStatusPort {
  /** The item with this `id`, undefined when there is none. */
  getItem(id: string): Promise<BudgetRecord | undefined>;
  /** The items with these ids that exist (absent ids are simply not in the map). */
  getItems(ids: readonly string[]): Promise<ReadonlyMap<string, BudgetRecord>>;
}

interface MinuteFigures {
  /** Epoch minute (Math.floor(epochMs / 60,000)). */
  minute: number;
  /** ISO time the minute starts. */
  startsAt: string;
  calls: number;
  throttled: number;
}

interface LaneFigures {
  /** Slots granted to the lane over the window. */
  granted: number;
  /** Summed wait for those slots (ms). */
  waitMs: number;
  /** waitMs / granted; null when nothing was granted. */
  meanWaitMs: number | null;
  /** Granted slots per second over the window. */
  grantedPerSecond: number;
  /** Last time a waiter of this lane asked for a slot (ISO), null when never. */
  lastDemandAt: string | null;
}

export interface OperationStatus {
  operation: BudgetOperation;
  /** False when the budget item does not exist: no instance has called the operation yet. */
  hasBudget: boolean;
  /** Configured requests/s; null without a budget item. */
  ceiling: number | null;
  /** The current budget: ceiling × the curve's fraction at `now`, and its phase; null without a budget item. */
  budget: { ratePerSecond: number; fraction: number; phase: CurvePhase } | null;
  /** Last decrease (a ThrottlingException seen by some instance) and the hold it set; null when never. */
  lastThrottle: { at: string; agoSeconds: number; hold: number } | null;
  fallback: {
    /** Last time an instance could not reach the table and fell back to its local rate (ISO). */
    lastAt: string | null;
    /** True when that happened inside the window. */
    recent: boolean;
  };
  /** The window's minutes, oldest first (zeros for a minute without an item). */
  minutes: MinuteFigures[];
  window: {
    minutes: number;
    /** Elapsed seconds covered (start of the first minute to now). */
    seconds: number;
    calls: number;
    throttled: number;
    /** throttled / calls; null when there were no calls. */
    throttledShare: number | null;
    /** (calls − throttled) / seconds: the rate the service actually got. */
    achievedPerSecond: number;
    /** achievedPerSecond / the current budget; null without a budget (or a zero budget). */
    budgetShare: number | null;
  };
  lanes: Record<Lane, LaneFigures>;
}

export interface BudgetStatus {
  /** ISO time the status was computed at. */
  at: string;
  minutes: number;
  operations: OperationStatus[];
}

export interface BudgetStatusInput {
  port: BudgetStatusPort;
  /** Epoch ms. */
  now: number;
  /**
   * Window length in minutes.
   * @default 5
   */
  minutes?: number;
  operations?: readonly BudgetOperation[];
}

export function epochMinute(epochMs: number): number {
  return Math.floor(epochMs / 60_000);
}

/** The stats item id of an operation's minute. */
export function statsItemId(operation: string, minute: number): string {
  return `${operation}#${minute}`;
}

/** A finite number attribute, else undefined (absent, or not a number). */
function numberOf(item: BudgetRecord | undefined, name: string): number | undefined {
  const value = item?.[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function iso(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

function ratio(numerator: number, denominator: number | null | undefined): number | null {
  return denominator === null || denominator === undefined || denominator <= 0
    ? null
    : numerator / denominator;
}

function operationStatus(
  operation: BudgetOperation,
  budgetItem: BudgetRecord | undefined,
  stats: ReadonlyMap<string, BudgetRecord>,
  window: { first: number; minutes: number; seconds: number; startMs: number },
  nowMs: number,
): OperationStatus {
  const minutes: MinuteFigures[] = [];
  const laneSums = Object.fromEntries(LANES.map((lane) => [lane, { granted: 0, waitMs: 0 }])) as Record<
    Lane,
    { granted: number; waitMs: number }
  >;
  let calls = 0;
  let throttled = 0;
  for (let minute = window.first; minute < window.first + window.minutes; minute++) {
    const item = stats.get(statsItemId(operation, minute));
    const figures: MinuteFigures = {
      minute,
      startsAt: new Date(minute * 60_000).toISOString(),
      calls: numberOf(item, 'calls') ?? 0,
      throttled: numberOf(item, 'throttled') ?? 0,
    };
    minutes.push(figures);
    calls += figures.calls;
    throttled += figures.throttled;
    for (const lane of LANES) {
      laneSums[lane].granted += numberOf(item, `granted_${lane}`) ?? 0;
      laneSums[lane].waitMs += numberOf(item, `waitMs_${lane}`) ?? 0;
    }
  }

  const ceiling = numberOf(budgetItem, 'ceiling');
  const wmax = numberOf(budgetItem, 'wmax');
  const throttleAt = numberOf(budgetItem, 'throttleAt');
  const throttledBefore = wmax !== undefined && throttleAt !== undefined;
  let budget: OperationStatus['budget'] = null;
  if (budgetItem !== undefined && ceiling !== undefined) {
    const { fraction, phase } = curveAt(
      throttledBefore ? { hold: wmax, throttleAt } : { hold: 1, throttleAt: undefined },
      nowMs,
    );
    budget = { ratePerSecond: ceiling * fraction, fraction, phase };
  }
  const fallbackAt = numberOf(budgetItem, 'fallbackAt');
  const achievedPerSecond = window.seconds > 0 ? Math.max(0, calls - throttled) / window.seconds : 0;

  const lanes = Object.fromEntries(
    LANES.map((lane) => {
      const sums = laneSums[lane];
      const figures: LaneFigures = {
        granted: sums.granted,
        waitMs: sums.waitMs,
        meanWaitMs: ratio(sums.waitMs, sums.granted),
        grantedPerSecond: window.seconds > 0 ? sums.granted / window.seconds : 0,
        lastDemandAt: iso(numberOf(budgetItem, `floorAt_${lane}`)),
      };
      return [lane, figures];
    }),
  ) as Record<Lane, LaneFigures>;

  return {
    operation,
    hasBudget: budgetItem !== undefined,
    ceiling: ceiling ?? null,
    budget,
    lastThrottle: throttledBefore
      ? {
          at: new Date(throttleAt).toISOString(),
          agoSeconds: Math.max(0, (nowMs - throttleAt) / 1000),
          hold: wmax,
        }
      : null,
    fallback: {
      lastAt: iso(fallbackAt),
      recent: fallbackAt !== undefined && fallbackAt >= window.startMs,
    },
    minutes,
    window: {
      minutes: window.minutes,
      seconds: window.seconds,
      calls,
      throttled,
      throttledShare: ratio(throttled, calls),
      achievedPerSecond,
      budgetShare: ratio(achievedPerSecond, budget?.ratePerSecond),
    },
    lanes,
  };
}

/**
 * Reads the budget status.
 * Input: the port, `now` (epoch ms), the window in minutes (1..1,440, default 5), the operations
 * (default both).
 * Output: per operation its ceiling, current budget, last throttle, fallbacks, the window's minutes
 * and sums, and per-lane grants and waits. A missing budget item means "no calls yet" (hasBudget
 * false, budget null); a missing minute item counts as zero.
 * Errors: BudgetStatusError for a bad window; whatever the port throws.
 */
export async function readBudgetStatus(input: BudgetStatusInput): Promise<BudgetStatus> {
  const minutes = input.minutes ?? DEFAULT_STATUS_MINUTES;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_STATUS_MINUTES) {
    throw new BudgetStatusError(`the window must be 1..${MAX_STATUS_MINUTES} whole minutes, got ${minutes}`);
  }
  const operations = input.operations ?? BUDGET_OPERATIONS;
  const nowMs = input.now;
  const current = epochMinute(nowMs);
  const first = current - minutes + 1;
  const startMs = first * 60_000;
  const window = { first, minutes, startMs, seconds: Math.max(0, nowMs - startMs) / 1000 };

  const statsIds = operations.flatMap((operation) =>
    Array.from({ length: minutes }, (_, i) => statsItemId(operation, first + i)),
  );
  const [budgetItems, stats] = await Promise.all([
    Promise.all(operations.map((operation) => input.port.getItem(operation))),
    input.port.getItems(statsIds),
  ]);

  return {
    at: new Date(nowMs).toISOString(),
    minutes,
    operations: operations.map((operation, i) =>
      operationStatus(operation, budgetItems[i], stats, window, nowMs),
    ),
  };
}

type DrainBasis =
  /** Nothing is waiting. */
  | 'empty'
  /** backlog ÷ the rate achieved over the window. */
  | 'achieved'
  /** Nothing ran in the window: backlog ÷ the current budget. */
  | 'budget'
  /** Nothing ran and there is no budget to go by (no calls yet). */
  | 'unknown';

export interface DrainEstimate {
  backlog: number;
  /** Seconds to drain at the rate of `basis`; null when unknown. */
  seconds: number | null;
  basis: DrainBasis;
  /** The rate used (requests/s); null when unknown. */
  ratePerSecond: number | null;
}

/**
 * Estimates the time to drain a backlog of `backlog` messages, one call each: at the rate the
 * operation achieved over the window, or, when nothing succeeded in the window, at its current
 * budget. A rough figure: a message whose rule matches nothing makes no call, a retried one makes
 * more than one.
 */
export function estimateDrain(backlog: number, status: OperationStatus | undefined): DrainEstimate {
  if (backlog <= 0) return { backlog: Math.max(0, backlog), seconds: 0, basis: 'empty', ratePerSecond: null };
  const achieved = status?.window.achievedPerSecond ?? 0;
  if (achieved > 0)
    return { backlog, seconds: backlog / achieved, basis: 'achieved', ratePerSecond: achieved };
  const budget = status?.budget?.ratePerSecond ?? 0;
  if (budget > 0) return { backlog, seconds: backlog / budget, basis: 'budget', ratePerSecond: budget };
  return { backlog, seconds: null, basis: 'unknown', ratePerSecond: null };
}
