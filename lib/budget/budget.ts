/**
 * One budget per Connect quota the service spends, shared by every instance of a function.
 *
 * Mechanism (measured in `npm run bench -- quota`, beside a naive consumer):
 * - Slots, not shares. Each call claims the next free slot of the account-wide schedule with one
 *   conditional UpdateItem on the budget item (lib/budget/store.ts): slots are one interval apart
 *   whatever the number of instances, so instances never collide on Connect's bucket and need no
 *   phases. An instance holds at most one booked slot at a time (its waiters claim in turn).
 * - Adaptive. The interval is 1 / (ceiling × the curve's fraction, lib/budget/curve.ts). A
 *   ThrottlingException, the only sign of callers the service cannot see, records a decrease in the
 *   item (at most one per cool-down, however many instances saw it); the rate then holds well under
 *   what the other caller leaves, probes now and then, and is back at the ceiling once a probe draws
 *   no throttle. The configured rate is a ceiling, never a target.
 * - Lanes. Waiters of one instance are served urgent → normal → bulk. Across instances a lane may book
 *   ahead only while no higher lane holds a booked slot; otherwise it takes only a slot that is free
 *   now, or its floor share (`laneFloor` of the slots), so no lane starves.
 * - Never stops ingesting. When the store fails or is slow, the instance paces itself at a
 *   conservative local rate (its static share of the current budget) for `fallbackMs`, then tries
 *   the store again.
 * - Within the invocation's time. A waiter may carry a deadline (lib/retry/deadline.ts): it is
 *   turned away (`DeadlineError`, no slot spent) as soon as the earliest slot it could get is later
 *   than the deadline allows. That earliest slot is known in advance: from the schedule as last
 *   seen (its next free slot, one interval at the ceiling per waiter ahead in this instance) before a
 *   claim, and exactly once the slot is booked, since a claim never books past the deadline.
 *
 * Time is real time (epoch ms shared by all instances), not the movable business clock.
 */
import { sleep as realSleep } from '#lib/clock.ts';
import { createRateLimiter, type RateLimiter } from '#lib/connect/rate-limiter.ts';
import { DEFAULT_LANE, LANES, type Lane, lanePriority } from '#lib/lanes.ts';
import { type Deadline, NO_DEADLINE, waitAllowanceMs } from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';
import { type CurveParams, type CurveState, curveAt, curveThrottled, DEFAULT_CURVE } from './curve.ts';
import type { BudgetItem, BudgetStore, ClaimInput, StatsDelta } from './store.ts';

/**
 * How a {@link Budget} paces the calls of every instance that shares one StartTaskContact quota.
 *
 * @example
 * const store = new DynamoBudgetStore({ client, tableName: 'task-ingest-prod-budget', operation: 'StartTaskContact' });
 * const budget = createBudget({ store, ceiling: 2, instances: 4 });
 * await budget.acquire('normal', deadline);
 */
export interface BudgetOptions {
  /** Where the shared state (the next slot, the rate) lives: DynamoDB in Lambda, memory in unit tests. */
  store: BudgetStore;
  /** Requests/s the service may use at most (the account quota, or the part of it set aside). */
  ceiling: number;
  /** Instances that may run at once (all lanes): the fallback rate is ceiling × fraction ÷ this. */
  instances: number;
  /**
   * Share of the slots a lower lane still gets while a higher lane is waiting.
   * @default 0.1
   */
  laneFloor?: number;
  /**
   * A claim books at most this many intervals ahead (default 2): a decrease takes effect after the
   * slots already booked, so the fewer booked, the sooner; the others wait their turn to claim.
   * @default 2
   */
  horizonSlots?: number;
  /**
   * At most one decrease per this many ms across all instances.
   * @default 2000
   */
  cooldownMs?: number;
  /**
   * At the top of the curve and while probing, each call goes out up to this fraction of an interval
   * after its slot, at random. Default 0.5. Holding, calls keep to their slots: evenly spaced calls
   * under what another caller leaves collide with its calls least.
   * @default 0.5
   */
  slotJitter?: number;
  /**
   * After a decrease, the next slot is at least this far off (ms).
   * @default five intervals at the ceiling (5000 / ceiling)
   */
  pauseMs?: number;
  /**
   * After a store failure, pace locally this long before trying the store again (ms).
   * @default 30000
   */
  fallbackMs?: number;
  /**
   * The rate policy's parameters.
   * @default DEFAULT_CURVE
   */
  curve?: CurveParams;
  /** Epoch ms; injectable for tests. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told once per fallback episode (no task contents: only the error's name). */
  onFallback?: (error: unknown) => void;
  /** Every slot granted: its lane, the slot time and how long the waiter waited (tests, metrics). */
  onGrant?: (grant: { lane: Lane; slot: number; waitedMs: number; shared: boolean }) => void;
}

/** What the budget did since the last snapshot (published as metrics per invocation). */
interface BudgetSnapshot {
  /** Requests/s the budget allows now. */
  rate: number;
  ceiling: number;
  calls: number;
  throttled: number;
  waitMs: Partial<Record<Lane, number>>;
  granted: Partial<Record<Lane, number>>;
  /** True while the instance paces locally because the store failed. */
  fallback: boolean;
}

export interface Budget extends RateLimiter {
  /**
   * Resolves when the caller may make one call in `lane`. Rejects with `DeadlineError` (no slot
   * spent) when the slot would come later than `deadline` allows.
   */
  acquire(lane?: Lane, deadline?: Deadline): Promise<void>;
  throttled(): void;
  /** Writes this instance's pending statistics (call at the end of each invocation). */
  flush(): Promise<void>;
  /** Counts since the previous snapshot, and the current rate. */
  snapshot(): BudgetSnapshot;
}

interface Waiter {
  lane: Lane;
  since: number;
  /** The latest slot (budget clock) the waiter can still use; Infinity without a deadline. */
  latestAt: number;
  resolve: () => void;
  reject: (error: DeadlineError) => void;
}

/** Where the next attempt to claim stands, from the item as last seen. */
export type ClaimPlan = { kind: 'claim'; mode: 'idle' | 'ahead' } | { kind: 'wait'; until: number };

/**
 * Decides the next claim of `lane` from the item as last read.
 * Output: claim now (idle: the schedule is free; ahead: book the slot at tat), or wait until a time
 * when one of those can hold (the slot frees, the higher lane's demand ends, the floor comes due, the
 * horizon allows).
 */
export function planClaim(
  item: BudgetItem,
  lane: Lane,
  now: number,
  p: { intervalMs: number; horizonMs: number; laneFloor: number },
): ClaimPlan {
  const tat = item.tat ?? 0;
  if (tat <= now) return { kind: 'claim', mode: 'idle' };
  if (tat > now + p.horizonMs) return { kind: 'wait', until: tat - p.horizonMs };
  const blockers = LANES.filter((h) => lanePriority(h) < lanePriority(lane))
    .map((h) => item.demandUntil[h] ?? 0)
    .filter((until) => until > now);
  if (blockers.length === 0) return { kind: 'claim', mode: 'ahead' };
  const floorDue = (item.floorAt[lane] ?? Number.NEGATIVE_INFINITY) + p.intervalMs / p.laneFloor;
  if (floorDue <= now) return { kind: 'claim', mode: 'ahead' };
  return { kind: 'wait', until: Math.min(tat, Math.max(...blockers), floorDue) };
}

/**
 * At high rates two intervals are shorter than a claim's round trip under load (20/s: 100 ms), and
 * slots went unused while instances raced for them: book at least this far ahead.
 */
const MIN_HORIZON_MS = 250;

export function createBudget(options: BudgetOptions): Budget {
  const { ceiling } = options;
  const clock = options.clock ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const slotJitter = options.slotJitter ?? 0.5;
  const stats = createStatsRecorder(options.store, clock);
  const slots = createSlotSource(options, { clock, sleep, random });
  const queue: Waiter[] = [];
  let pumping = false;

  /** Removes a waiter the deadline turned away; it rejects with `error`. */
  function turnAway(waiter: Waiter, error: DeadlineError): void {
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    waiter.reject(error);
  }

  /** Grants queued waiters one slot each, most urgent first. */
  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        const head = queue[0] as Waiter;
        let obtained: { slot: number; shared: boolean };
        try {
          obtained = await slots.obtain(head.lane, head.latestAt);
        } catch (error) {
          if (!(error instanceof DeadlineError)) throw error;
          turnAway(head, error);
          continue;
        }
        const { slot, shared } = obtained;
        // At the top and while probing, a random part of an interval late: evenly spaced calls near
        // the bucket's refill rate leave it at the edge, where another caller's calls fail and ours
        // do not, so the budget never learns (see max in curve.ts); a probe would then end "clear"
        // and go to the top. Holding, well under what the other leaves, calls keep to their slots.
        // Never later than the waiter's deadline allows.
        const jitter = shared && slots.jittered(slot) ? random() * slotJitter * slots.intervalAt(slot) : 0;
        const at = Math.max(slot, Math.min(slot + jitter, head.latestAt));
        const wait = at - clock();
        if (wait > 0) await sleep(wait);
        // The most urgent waiter now (one may have arrived while this slot was being claimed) that
        // can still use it: a waiter whose deadline is before this slot can use no later one either.
        const waiter = nextServable(slot);
        if (waiter === undefined) continue;
        const waitedMs = clock() - waiter.since;
        stats.granted(waiter.lane, waitedMs);
        options.onGrant?.({ lane: waiter.lane, slot, waitedMs, shared });
        waiter.resolve();
        stats.maybeFlush();
      }
    } finally {
      pumping = false;
    }
  }

  /** Takes the first waiter whose deadline admits `slot`, turning away those before it that it does not. */
  function nextServable(slot: number): Waiter | undefined {
    for (;;) {
      const waiter = queue.shift();
      if (waiter === undefined || waiter.latestAt >= slot) return waiter;
      waiter.reject(new DeadlineError('a budget slot', slot - waiter.since, waiter.latestAt - waiter.since));
    }
  }

  /** The earliest slot a new waiter of `lane` could get: the next free slot, then one per waiter ahead. */
  function earliestSlot(lane: Lane, now: number): number {
    const p = lanePriority(lane);
    const ahead = queue.filter((w) => lanePriority(w.lane) <= p).length;
    return slots.earliest(now) + ahead * (1000 / ceiling);
  }

  return {
    acquire(lane: Lane = DEFAULT_LANE, deadline: Deadline = NO_DEADLINE) {
      const since = clock();
      const latestAt = since + waitAllowanceMs(deadline);
      const earliest = earliestSlot(lane, since);
      if (earliest > latestAt) {
        return Promise.reject(new DeadlineError('a budget slot', earliest - since, latestAt - since));
      }
      return new Promise<void>((resolve, reject) => {
        enqueue(queue, { lane, since, latestAt, resolve, reject });
        void pump();
      });
    },
    throttled() {
      stats.throttled();
      slots.throttled();
    },
    get waiting() {
      return queue.length;
    },
    flush: stats.flush,
    snapshot() {
      const { rate, fallback } = slots.current();
      return { ...stats.takeSnapshot(), rate, ceiling, fallback };
    },
  };
}

/** Inserts a waiter after every waiter of the same or a more urgent lane (stable priority order). */
function enqueue(queue: Waiter[], waiter: Waiter): void {
  const p = lanePriority(waiter.lane);
  let at = queue.length;
  while (at > 0 && lanePriority((queue[at - 1] as Waiter).lane) > p) at -= 1;
  queue.splice(at, 0, waiter);
}

/**
 * One step of a shared claim, from the budget item as last read: wait until a time, or send a claim.
 * Throws `DeadlineError` when every slot a claim could book from here on is later than `latestAt`.
 */
function nextClaimStep(
  item: BudgetItem,
  lane: Lane,
  t: number,
  latestAt: number,
  p: { intervalMs: number; horizonSlots: number; laneFloor: number; ceiling: number },
): { kind: 'wait'; until: number } | { kind: 'claim'; input: ClaimInput } {
  const { intervalMs, laneFloor } = p;
  const horizonMs = Math.max(p.horizonSlots * intervalMs, MIN_HORIZON_MS);
  const plan = planClaim(item, lane, t, { intervalMs, horizonMs, laneFloor });
  // Every slot a claim can book from here on is at or after this.
  const earliest = plan.kind === 'wait' ? plan.until : plan.mode === 'idle' ? t : (item.tat ?? t);
  if (earliest > latestAt) throw new DeadlineError('a budget slot', earliest - t, latestAt - t);
  if (plan.kind === 'wait') return plan;
  const input: ClaimInput = {
    lane,
    now: t,
    intervalMs,
    ceiling: p.ceiling,
    mode: plan.mode,
    latest: Math.min(t + horizonMs, latestAt),
    higher: LANES.filter((h) => lanePriority(h) < lanePriority(lane)),
    floorDue: t - intervalMs / laneFloor,
  };
  return { kind: 'claim', input };
}

interface Runtime {
  clock: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/** The slot source's options with their defaults filled in. */
function slotSettings(options: BudgetOptions) {
  return {
    laneFloor: options.laneFloor ?? 0.1,
    horizonSlots: options.horizonSlots ?? 2,
    cooldownMs: options.cooldownMs ?? 2_000,
    fallbackMs: options.fallbackMs ?? 30_000,
    curve: options.curve ?? DEFAULT_CURVE,
    // After a decrease nobody calls for five intervals at the ceiling: Connect's bucket, emptied by the
    // calls that drew the throttle, refills before anyone (the other caller included) calls again.
    pauseMs: options.pauseMs ?? 5_000 / options.ceiling,
  };
}

/**
 * Where slots come from: the shared schedule in the store (claims, decreases on throttles), or the
 * local fallback limiter for `fallbackMs` after the store failed.
 */
function createSlotSource(options: BudgetOptions, { clock, sleep, random }: Runtime) {
  const { store, ceiling } = options;
  const { laneFloor, horizonSlots, cooldownMs, fallbackMs, curve, pauseMs } = slotSettings(options);
  const state = (): CurveState => ({ hold: item.wmax ?? curve.max, throttleAt: item.throttleAt });

  let item: BudgetItem = { demandUntil: {}, floorAt: {} };
  let fallbackUntil = 0;
  /** When this instance last fell back, until the table has been told. */
  let unreportedFallback: number | undefined;
  let local: RateLimiter | undefined;

  const fraction = (t: number) => curveAt(state(), t, curve).fraction;
  const intervalAt = (t: number) => 1000 / (ceiling * fraction(t));
  /** The fallback: this instance's static share of the budget as it stands. */
  const localRate = (t: number) => (ceiling * fraction(t)) / Math.max(1, options.instances);

  function enterFallback(error: unknown): void {
    const t = clock();
    if (fallbackUntil <= t) {
      options.onFallback?.(error);
      unreportedFallback = t;
    }
    fallbackUntil = t + fallbackMs;
    local = createRateLimiter({ ratePerSecond: localRate(t), randomStart: true, random, clock, sleep });
  }

  function granted(next: BudgetItem): void {
    item = next;
    if (unreportedFallback === undefined) return;
    const at = unreportedFallback;
    unreportedFallback = undefined;
    // Best effort, for `task-ingest status`.
    void store.markFallback(at).catch(() => {});
  }

  /** Claims a slot no later than `latestAt`; `DeadlineError` once the earliest possible one is later. */
  async function claimShared(lane: Lane, latestAt: number): Promise<number> {
    for (;;) {
      const t = clock();
      const intervalMs = intervalAt(t);
      const step = nextClaimStep(item, lane, t, latestAt, { intervalMs, horizonSlots, laneFloor, ceiling });
      if (step.kind === 'wait') {
        // A little jitter: instances that learnt the same time do not all retry at once.
        await sleep(Math.max(1, step.until - t + random() * Math.min(50, intervalMs / 4)));
        item = await store.read();
        continue;
      }
      const result = await store.claim(step.input);
      if (result.granted) {
        granted(result.item);
        return result.slot;
      }
      item = await store.read();
    }
  }

  /**
   * The next free slot as last seen. While falling back, the local pace's: the calls waiting there
   * take one interval each, and the next one at most one more (an upper bound: that limiter's slots
   * are not known in advance).
   */
  function earliest(t: number): number {
    if (fallbackUntil > t) return t + (((local as RateLimiter).waiting + 1) * 1000) / localRate(t);
    return Math.max(t, item.tat ?? t);
  }

  async function recordThrottle(): Promise<void> {
    const t = clock();
    if (fallbackUntil > t || (item.throttleAt !== undefined && item.throttleAt > t - cooldownMs)) return;
    try {
      const next = await store.throttled({
        now: t,
        wmax: curveThrottled(state(), t, curve).hold,
        since: t - cooldownMs,
        resumeAt: t + pauseMs,
      });
      item = next ?? (await store.read());
    } catch (error) {
      enterFallback(error);
    }
  }

  return {
    intervalAt,
    /** At the top and while probing, calls go out a random part of an interval late (see the pump). */
    jittered: (t: number) => curveAt(state(), t, curve).phase !== 'hold',
    earliest,
    /** A slot for `lane` no later than `latestAt`; `DeadlineError` when none can be. */
    async obtain(lane: Lane, latestAt: number): Promise<{ slot: number; shared: boolean }> {
      if (fallbackUntil <= clock()) {
        try {
          return { slot: await claimShared(lane, latestAt), shared: true };
        } catch (error) {
          if (error instanceof DeadlineError) throw error;
          enterFallback(error);
        }
      }
      const t = clock();
      const first = earliest(t);
      if (first > latestAt) throw new DeadlineError('a budget slot', first - t, latestAt - t);
      await (local as RateLimiter).acquire();
      return { slot: clock(), shared: false };
    },
    throttled(): void {
      local?.throttled?.();
      void recordThrottle();
    },
    current(): { rate: number; fallback: boolean } {
      const t = clock();
      const fallback = fallbackUntil > t;
      return { rate: fallback ? localRate(t) : ceiling * fraction(t), fallback };
    },
  };
}

/**
 * Counts of calls, throttles and waits: per minute for the store (flushed at least every 10 s and at
 * each minute's turn) and since the last snapshot for the invocation's metrics.
 */
function createStatsRecorder(store: BudgetStore, clock: () => number) {
  let pending: StatsDelta & { minute: number } = emptyStats(Math.floor(clock() / 60_000));
  let sinceSnapshot = emptyStats(0);
  let flushing: Promise<void> = Promise.resolve();
  let lastFlush = clock();

  async function flush(): Promise<void> {
    const delta = pending;
    lastFlush = clock();
    pending = emptyStats(Math.floor(lastFlush / 60_000));
    if (delta.calls === 0 && delta.throttled === 0) return flushing;
    flushing = flushing
      .then(() => store.addStats(delta.minute, delta))
      // Statistics are best effort: a lost minute only makes `task-ingest status` less exact.
      .catch(() => {});
    return flushing;
  }

  return {
    flush,
    granted(lane: Lane, waitedMs: number): void {
      count(pending, lane, waitedMs);
      count(sinceSnapshot, lane, waitedMs);
    },
    throttled(): void {
      pending.throttled += 1;
      sinceSnapshot.throttled += 1;
    },
    maybeFlush(): void {
      const t = clock();
      if (Math.floor(t / 60_000) !== pending.minute || t - lastFlush >= 10_000) void flush();
    },
    takeSnapshot(): Pick<BudgetSnapshot, 'calls' | 'throttled' | 'waitMs' | 'granted'> {
      const { calls, throttled, waitMs, granted } = sinceSnapshot;
      sinceSnapshot = emptyStats(0);
      return { calls, throttled, waitMs, granted };
    },
  };
}

function emptyStats(minute: number): StatsDelta & { minute: number } {
  return { minute, calls: 0, throttled: 0, granted: {}, waitMs: {} };
}

function count(stats: StatsDelta, lane: Lane, waitedMs: number): void {
  stats.calls += 1;
  stats.granted[lane] = (stats.granted[lane] ?? 0) + 1;
  stats.waitMs[lane] = (stats.waitMs[lane] ?? 0) + waitedMs;
}
