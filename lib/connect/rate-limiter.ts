/**
 * Client-side call shaping: a token bucket with a FIFO queue of waiters.
 *
 * Connect's StartTaskContact and TransferContact quotas are small (about 2 requests/s per account
 * and Region by default). Each function instance gets `quota / maximumConcurrency` requests per
 * second, so together the instances run at the quota instead of provoking a throttling storm.
 *
 * Instances shape independently, so they must not call in lock-step: K instances that start together
 * with full buckets and pace at the same rate land K calls on the account's bucket at the same instant
 * every K/quota seconds, and when K exceeds the account's burst the surplus is throttled on every
 * round (the goodput bench saw 48% of calls throttled at 2/s with K = 4). `randomStart` gives each
 * limiter a random phase, and `throttled()` (called when the service throttles anyway) pushes the next
 * call back by one interval plus a random part of another, which moves this instance away from the
 * instances it collided with.
 *
 * Time is real time here (not the movable business clock): it paces real network calls.
 */
import { sleep as realSleep } from '#lib/clock.ts';
export interface RateLimiter {
  /** Resolves when the caller may make one call. Callers are served in arrival order. */
  acquire(): Promise<void>;
  /**
   * The service throttled a call made under this limiter: the next call waits one interval plus a
   * random part of another. Optional so that test doubles need not implement it.
   */
  throttled?(): void;
  /** Calls currently waiting. */
  readonly waiting: number;
}

export interface RateLimiterOptions {
  /** Sustained calls per second; must be > 0. `Infinity` disables shaping. */
  ratePerSecond: number;
  /**
   * Calls allowed back to back after idleness.
   * @default 1 (smooth pacing, no bursts)
   */
  burst?: number;
  /** Monotonic milliseconds; injectable for tests. */
  clock?: () => number;
  /** Sleep; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Start with a random part of one token instead of a full bucket (default false): the first call
   * waits a random part of one interval, so instances created together do not call in lock-step.
   */
  randomStart?: boolean;
  /**
   * Uniform in [0, 1), for randomStart and throttled(); injectable for tests.
   * @default Math.random
   */
  random?: () => number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { ratePerSecond } = options;
  const burst = options.burst ?? 1;
  const clock = options.clock ?? (() => performance.now());
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  if (ratePerSecond === Number.POSITIVE_INFINITY) {
    return { acquire: async () => {}, throttled: () => {}, waiting: 0 };
  }
  const intervalMs = 1000 / ratePerSecond;
  let tokens = options.randomStart ? burst - 1 + random() : burst;
  let last = clock();
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;

  const refill = () => {
    const t = clock();
    tokens = Math.min(burst, tokens + (t - last) / intervalMs);
    last = t;
  };

  const takeOne = async () => {
    refill();
    while (tokens < 1) {
      await sleep(Math.max(1, Math.ceil((1 - tokens) * intervalMs)));
      refill();
    }
    tokens -= 1;
  };

  return {
    acquire() {
      waiting += 1;
      const turn = tail.then(takeOne);
      tail = turn.catch(() => {});
      return turn.finally(() => {
        waiting -= 1;
      });
    },
    throttled() {
      refill();
      tokens = Math.min(tokens, 0) - random();
    },
    get waiting() {
      return waiting;
    },
  };
}
