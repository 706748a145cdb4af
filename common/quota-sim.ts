/**
 * A simulated Connect quota on virtual time: one token bucket shared by the budgets under test and by
 * an outside caller the service cannot see, and a clock that jumps from timer to timer. The unit tests
 * of lib/budget/budget.ts and `npm run bench -- quota-sim` (bench/quota-sim.ts) both run on it; the
 * real figures come from `npm run bench -- quota` against the sandbox.
 */
import type { Budget } from '#lib/budget/budget.ts';
import type { Lane } from '#lib/lanes.ts';
import { seededRandom } from './random.ts';

/** Time that passes only when it is run: hand `clock` and `sleep` to the code under test. */
export interface VirtualTime {
  /** Epoch ms now. */
  clock(): number;
  /** Resolves when the virtual clock reaches now + `ms`. */
  sleep(ms: number): Promise<void>;
  /** Fires every timer due up to `until` (epoch ms) in order, each after the promises the one before started. */
  runUntil(until: number): Promise<void>;
  /** `runUntil(clock() + ms)`. */
  runFor(ms: number): Promise<void>;
  /**
   * Fires timers until `work` settles, then returns what it gives; fails when no timer is left or
   * `limitMs` of virtual time passed first (the work would never settle).
   */
  settle<T>(work: Promise<T>, limitMs?: number): Promise<T>;
}

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export function virtualTime(start: number): VirtualTime {
  let now = start;
  let seq = 0;
  /** Sorted by `at`, then by creation. */
  const timers: Timer[] = [];
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = { at: now + Math.max(0, ms), seq: seq++, resolve };
      let i = timers.length;
      timers.push(timer);
      while (i > 0 && (timers[i - 1] as Timer).at > timer.at) {
        timers[i] = timers[i - 1] as Timer;
        i -= 1;
      }
      timers[i] = timer;
    });
  // setImmediate runs after every pending promise reaction: the chains a timer started have run.
  const quiet = () => new Promise<void>((resolve) => setImmediate(resolve));
  const fireNext = async () => {
    const timer = timers.shift() as Timer;
    now = Math.max(now, timer.at);
    timer.resolve();
    await quiet();
  };
  const runUntil = async (until: number) => {
    await quiet();
    while (timers.length > 0 && (timers[0] as Timer).at <= until) await fireNext();
    now = Math.max(now, until);
  };
  return {
    clock: () => now,
    sleep,
    runUntil,
    runFor: (ms) => runUntil(now + ms),
    async settle(work, limitMs = 600_000) {
      let settled = false;
      const watched = work.finally(() => {
        settled = true;
      });
      const limit = now + limitMs;
      await quiet();
      while (!settled) {
        const next = timers[0];
        if (!next || next.at > limit) {
          void watched.catch(() => {});
          throw new Error(
            next
              ? `the work had not settled after ${limitMs} ms`
              : 'no timer left, and the work has not settled',
          );
        }
        await fireNext();
      }
      return watched;
    },
  };
}

export interface Bucket {
  /** Takes one token now; false = throttled. */
  take(): boolean;
}

/** Connect's quota as a token bucket: `rate` tokens a second, at most `burst` saved up. */
export function tokenBucket(rate: number, burst: number, clock: () => number): Bucket {
  let tokens = burst;
  let last = clock();
  return {
    take() {
      const t = clock();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

export interface CallLog {
  /** Epoch ms of every successful call. */
  ok: number[];
  /** Epoch ms of every throttled call. */
  throttled: number[];
}

export const newLog = (): CallLog => ({ ok: [], throttled: [] });

/**
 * `workers` callers that each loop: acquire from the budget, call, on a throttle tell the budget and
 * try again (as the SDK's retry does), until `until` (epoch ms).
 */
export function driveBudget(
  budget: Budget,
  bucket: Bucket,
  time: Pick<VirtualTime, 'clock' | 'sleep'>,
  options: { workers: number; until: number; lane?: Lane; log: CallLog; jitterMs?: number; seed?: number },
): Promise<void> {
  const random = seededRandom(options.seed ?? 1);
  const jitter = options.jitterMs ?? 0;
  const worker = async () => {
    while (time.clock() < options.until) {
      await budget.acquire(options.lane);
      // The network: a call reaches Connect a little after its slot, never exactly on it.
      if (jitter > 0) await time.sleep(random() * jitter);
      if (time.clock() >= options.until) return;
      if (bucket.take()) options.log.ok.push(time.clock());
      else {
        options.log.throttled.push(time.clock());
        budget.throttled();
      }
    }
  };
  return Promise.all(Array.from({ length: options.workers }, worker)).then(() => {});
}

/**
 * An outside caller: one call every `everyMs` on average (uniform in 0.5–1.5 × everyMs, like an
 * integration driven by its own traffic) from `from` to `until`, no retries.
 */
export function outsideCaller(
  bucket: Bucket,
  time: Pick<VirtualTime, 'clock' | 'sleep'>,
  options: { everyMs: number; from: number; until: number; log: CallLog; seed?: number },
): void {
  const random = seededRandom(options.seed ?? 2);
  void (async () => {
    await time.sleep(Math.max(0, options.from - time.clock()));
    for (let t = time.clock(); t < options.until; t = time.clock()) {
      if (bucket.take()) options.log.ok.push(t);
      else options.log.throttled.push(t);
      await time.sleep(options.everyMs * (0.5 + random()));
    }
  })();
}

/** Calls per second in [from, to). */
export function rateIn(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
}
