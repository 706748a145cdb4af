/**
 * Backoff for failed messages.
 *
 * Full jitter, from the AWS Architecture Blog "Exponential Backoff And Jitter":
 * `sleep = random_between(0, min(cap, base * 2 ** attempt))`. Spreading retries over the whole window
 * keeps many failing messages from coming back in lock-step (the throttling storm the Connect quota
 * would otherwise provoke).
 */

/** SQS: a message's visibility timeout is 0..43,200 seconds (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** 2 ** 64 is far beyond any cap; bounding the exponent keeps `base * 2 ** attempt` finite. */
const MAX_EXPONENT = 64;

export interface BackoffConfig {
  /** Seconds; the first window (`attempt` 0) is `[0, base]`. */
  baseSeconds: number;
  /** Seconds; no window grows beyond it. */
  capSeconds: number;
  /**
   * Uniform in [0, 1); injectable for tests.
   * @default `Math.random`
   */
  random?: () => number;
}

/** A uniformly random integer in `[low, high]` (both whole seconds, low ≤ high). */
function randomIntegerBetween(low: number, high: number, random: () => number): number {
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.min(high, low + Math.floor(unit * (high - low + 1)));
}

/** The exponential window's upper edge, whole seconds: `min(cap, base * 2 ** attempt)`. */
function ceilingSeconds(attempt: number, baseSeconds: number, capSeconds: number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  return Math.floor(Math.min(capSeconds, baseSeconds * 2 ** exponent));
}

/**
 * Full-jitter exponential backoff in whole seconds: uniformly random in
 * `[0, min(cap, base * 2 ** attempt)]`. Negative or fractional attempts count as their floor, at least 0.
 */
export function fullJitterSeconds(
  attempt: number,
  baseSeconds: number,
  capSeconds: number,
  random: () => number = Math.random,
): number {
  return randomIntegerBetween(0, ceilingSeconds(attempt, baseSeconds, capSeconds), random);
}

/**
 * Visibility timeout for a transient failure retried in place (ChangeMessageVisibility).
 *
 * `receiveCount` is the record's ApproximateReceiveCount (1 on the first delivery), so the first retry
 * uses the window `[0, base]`, the second `[0, 2·base]`, ... Clamped to SQS's range and at least 1 s so
 * the message never comes straight back.
 */
export function transientVisibilitySeconds(receiveCount: number, cfg: BackoffConfig): number {
  const attempt = Math.max(0, (Number.isFinite(receiveCount) ? receiveCount : 1) - 1);
  const seconds = fullJitterSeconds(attempt, cfg.baseSeconds, cfg.capSeconds, cfg.random);
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(1, seconds));
}

/**
 * When an over-quota message may be replayed from the DLQ.
 *
 * `attempts` is the number of times the message has been parked (1 on the first trip). The delay is
 * uniformly random in `[base, min(cap, base * 2 ** attempts)]`: jittered, never earlier than base, never
 * later than cap (a base above the cap is lowered to the cap). `now` is epoch milliseconds, read from
 * the caller's clock.
 */
export function overQuotaNextAttempt(attempts: number, cfg: BackoffConfig, now: number): Date {
  const cap = Math.floor(cfg.capSeconds);
  const base = Math.min(Math.ceil(cfg.baseSeconds), cap);
  const high = Math.max(base, ceilingSeconds(Number.isFinite(attempts) ? attempts : 0, cfg.baseSeconds, cap));
  const delaySeconds = randomIntegerBetween(base, high, cfg.random ?? Math.random);
  return new Date(now + delaySeconds * 1000);
}
