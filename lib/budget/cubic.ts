/**
 * The budget's rate: CUBIC congestion control over the account's Connect quota, the same curve as
 * the AWS SDK v3 adaptive retry mode's client rate limiter (`DefaultRateLimiter` in @smithy/core's
 * util-retry: on a throttle the rate drops to `beta` × the rate in use, then grows back along
 * `scale · (t − K)³ + Wmax` with `K = ∛(Wmax · (1 − beta) / scale)`).
 *
 * The SDK's limiter keeps that state private to one client in one process; here it lives in the
 * shared budget item (lib/budget/store.ts), so every function instance computes the same rate from
 * the same two numbers. Two differences, both because the budget is shared and configured:
 * - Rates are fractions of the configured ceiling (`w = rate / ceiling`), so `scale` gives the same
 *   recovery time at 2/s and at 200/s (the SDK's 0.4 req/s³ would swing a 2/s budget from 0 to the
 *   ceiling in under two seconds and throttle every few seconds).
 * - The curve is clamped to [floor, max]: the configured rate is a ceiling, never exceeded (max is
 *   just under it, see CubicParams.max), and a budget squeezed by another caller keeps trickling.
 */

export interface CubicParams {
  /** Multiplicative decrease on a throttle (the SDK's beta). */
  beta: number;
  /** Growth constant, in (fraction of the ceiling) / s³. */
  scale: number;
  /** Lowest rate, as a fraction of the ceiling. */
  floor: number;
  /**
   * Highest rate, as a fraction of the ceiling (just under 1). A caller that paces at exactly the
   * bucket's refill rate leaves Connect's bucket wherever it was, so another caller's calls fail
   * while this one never sees a 429 and never learns it is there. A little under the rate, the
   * bucket fills up while the service is alone, and every call another caller gets through shows
   * up as a 429 of ours soon after: the signal the budget shrinks on.
   */
  max: number;
}

/** Tuned with `npm run bench -- quota` (scenario b): see README, "Sharing Connect's quota". */
export const DEFAULT_CUBIC: CubicParams = { beta: 0.7, scale: 1e-4, floor: 0.05, max: 0.99 };

export interface CubicState {
  /** Fraction of the ceiling in use when the budget was last throttled (Wmax). */
  wmax: number;
  /** Epoch ms of the last decrease; undefined when never throttled (the budget is the ceiling). */
  throttleAt: number | undefined;
}

/** The window K (seconds) the curve takes to climb back to Wmax after a decrease. */
export function cubicWindowSeconds(wmax: number, params: CubicParams = DEFAULT_CUBIC): number {
  return Math.cbrt((wmax * (1 - params.beta)) / params.scale);
}

/**
 * The budget's fraction of the ceiling at `nowMs`.
 * @example cubicFraction({ wmax: 0.5, throttleAt: t0 }, t0) // 0.35 = beta × Wmax
 */
export function cubicFraction(state: CubicState, nowMs: number, params: CubicParams = DEFAULT_CUBIC): number {
  if (state.throttleAt === undefined) return params.max;
  const dt = Math.max(0, nowMs - state.throttleAt) / 1000;
  const w = params.scale * (dt - cubicWindowSeconds(state.wmax, params)) ** 3 + state.wmax;
  return Math.min(params.max, Math.max(params.floor, w));
}

/** The state after a throttle seen at `nowMs`: Wmax = the fraction in use then. */
export function cubicThrottled(
  state: CubicState,
  nowMs: number,
  params: CubicParams = DEFAULT_CUBIC,
): CubicState {
  return { wmax: cubicFraction(state, nowMs, params), throttleAt: nowMs };
}
