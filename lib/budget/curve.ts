/**
 * The budget's rate over time: hold and probe, an AIMD policy over the account's Connect quota.
 *
 * Only ThrottlingExceptions reveal callers the service cannot see. The policy:
 * - Top: until the first throttle, and after a probe that drew none, the rate is `max` of the
 *   ceiling (just under it; see `max`).
 * - Congestion at the top (the first throttle, or one after a successful probe): the hold becomes
 *   `firstBeta` × max, TCP's halving. Congestion while holding: the hold × `beta` (multiplicative
 *   decrease, as the AWS SDK v3 adaptive retry mode's client rate limiter does on a throttle).
 * - Hold: the rate stays at the hold, growing by `growth` of the ceiling per second (additive
 *   increase), for `probeAfterS`. Holding flat, well under what the other caller leaves, is what
 *   keeps both callers' throttles rare: a rate that keeps climbing, like the SDK's CUBIC curve (which
 *   this module replaced), keeps running into the other caller and throttles it as often as itself.
 * - Probe: then, for `probeWindowS`, the rate is `probeLevel` of the ceiling. A throttle in the
 *   window means the other caller is still there: the hold reached is kept (no decrease) and the next
 *   probe comes `probeAfterS` later. No throttle in the window means it has gone: back to the top.
 *   So the budget notices a caller that left within probeAfterS + probeWindowS, and spends at most one
 *   throttle per probe while it stays.
 *
 * The state is two numbers in the shared budget item (lib/budget/store.ts): `hold`, the hold's
 * fraction of the ceiling when the last decrease was recorded (stored as `wmax`, the attribute's name
 * from the CUBIC days), and `throttleAt`, when. Every instance computes the same rate from them.
 * Rates are fractions of the configured ceiling, so the same parameters serve 2/s and 200/s.
 *
 * Tuned with `npm run bench -- quota-sim` (bench/quota-sim.ts: scenario (b) on virtual time, many
 * seeds) and checked with `npm run bench -- quota`: docs/BENCHMARKS.md, "Sharing the quota".
 */

export interface CurveParams {
  /** Highest fraction, just under 1: pacing at exactly the refill rate leaves Connect's bucket at
   * its edge, where another caller's calls fail while ours do not and the budget never learns. */
  max: number;
  /** Lowest fraction: a budget squeezed by another caller keeps trickling. */
  floor: number;
  /** Congestion at the top: the hold is this × max. */
  firstBeta: number;
  /** Congestion while holding: the hold × this. */
  beta: number;
  /** Additive increase while holding, fraction of the ceiling per second. */
  growth: number;
  /** Seconds after a decrease until the next probe. */
  probeAfterS: number;
  /** Seconds a probe lasts; no throttle in it = the other caller has gone. */
  probeWindowS: number;
  /** The probe's fraction (at least the hold). */
  probeLevel: number;
}

export const DEFAULT_CURVE: CurveParams = {
  max: 0.99,
  floor: 0.05,
  firstBeta: 0.5,
  beta: 0.9,
  growth: 0.002,
  probeAfterS: 18,
  probeWindowS: 5,
  probeLevel: 0.9,
};

export interface CurveState {
  /** Fraction of the ceiling held after the last decrease (the item's `wmax`). */
  hold: number;
  /** Epoch ms of the last decrease; undefined when never throttled (the budget is at the top). */
  throttleAt: number | undefined;
}

export type CurvePhase = 'top' | 'hold' | 'probe';

function clamp(w: number, p: CurveParams): number {
  return Math.min(p.max, Math.max(p.floor, w));
}

/** Where the curve stands at `nowMs`: its phase and its fraction of the ceiling. */
export function curveAt(
  state: CurveState,
  nowMs: number,
  p: CurveParams = DEFAULT_CURVE,
): { phase: CurvePhase; fraction: number } {
  if (state.throttleAt === undefined) return { phase: 'top', fraction: p.max };
  const dt = Math.max(0, nowMs - state.throttleAt) / 1000;
  const hold = clamp(state.hold + p.growth * Math.min(dt, p.probeAfterS), p);
  if (dt < p.probeAfterS) return { phase: 'hold', fraction: hold };
  if (dt < p.probeAfterS + p.probeWindowS)
    return { phase: 'probe', fraction: Math.max(hold, clamp(p.probeLevel, p)) };
  return { phase: 'top', fraction: p.max };
}

/**
 * The budget's fraction of the ceiling at `nowMs`.
 * @example curveFraction({ hold: 0.5, throttleAt: t0 }, t0) // 0.5
 */
export function curveFraction(state: CurveState, nowMs: number, p: CurveParams = DEFAULT_CURVE): number {
  return curveAt(state, nowMs, p).fraction;
}

/** The state after a throttle seen at `nowMs` (the caller records at most one per cool-down). */
export function curveThrottled(state: CurveState, nowMs: number, p: CurveParams = DEFAULT_CURVE): CurveState {
  const { phase, fraction } = curveAt(state, nowMs, p);
  if (phase === 'top') return { hold: clamp(p.firstBeta * p.max, p), throttleAt: nowMs };
  if (phase === 'hold') return { hold: clamp(p.beta * fraction, p), throttleAt: nowMs };
  // A failed probe: the other caller is still there; keep the hold reached, probe again later.
  return { hold: clamp(state.hold + p.growth * p.probeAfterS, p), throttleAt: nowMs };
}
