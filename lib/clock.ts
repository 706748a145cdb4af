/**
 * Time in lib/: no module keeps a clock. Every component that needs the time takes it from its
 * options or deps as `now: () => number` (epoch ms), defaulting to the wall clock (`Date.now`); the
 * handler factories (lib/<feature>/handler.ts) pass their runtime's `now` down to everything they
 * build. On Lambda that is the wall clock; the sandbox passes its movable clock (sandbox/clock.ts);
 * tests pass whatever clock they move.
 *
 * Real-time waits are not on that clock: `sleep` below, the budget's pacing (lib/budget/budget.ts)
 * and the Lambda context's remaining time pace real calls and count real execution time, so moving
 * the sandbox's clock ends none of them. Each stays injectable where it is used (`sleep` options).
 */

/**
 * Waits `ms` of real time, on the global timer (tests' fake timers control it).
 *
 * @param ms - Milliseconds to wait.
 * @example
 *   await sleep(250);
 */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
