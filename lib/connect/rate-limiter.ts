/**
 * Client-side call shaping: a token bucket with a FIFO queue of waiters.
 *
 * Connect's StartTaskContact and TransferContact quotas are small (about 2 requests/s per account
 * and Region by default). Each function instance gets `quota / maximumConcurrency` requests per
 * second, so together the instances run at the quota instead of provoking a throttling storm.
 *
 * Time is real time here (not the movable business clock): it paces real network calls.
 */
export interface RateLimiter {
  /** Resolves when the caller may make one call. Callers are served in arrival order. */
  acquire(): Promise<void>;
  /** Calls currently waiting. */
  readonly waiting: number;
}

export interface RateLimiterOptions {
  /** Sustained calls per second; must be > 0. `Infinity` disables shaping. */
  ratePerSecond: number;
  /** Calls allowed back to back after idleness; default 1 (smooth pacing, no bursts). */
  burst?: number;
  /** Monotonic milliseconds; injectable for tests. */
  clock?: () => number;
  /** Sleep; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { ratePerSecond } = options;
  if (!(ratePerSecond > 0)) throw new TypeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
  const burst = options.burst ?? 1;
  if (!Number.isInteger(burst) || burst < 1)
    throw new TypeError(`burst must be an integer ≥ 1, got ${burst}`);
  const clock = options.clock ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  if (ratePerSecond === Number.POSITIVE_INFINITY) {
    return { acquire: async () => {}, waiting: 0 };
  }
  const intervalMs = 1000 / ratePerSecond;
  let tokens = burst;
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
    get waiting() {
      return waiting;
    },
  };
}
