/**
 * The sandbox's movable clock: the wall clock plus an offset that only grows. `startSandbox` makes one
 * per sandbox and hands its `now` to everything it starts (the SQS, EventBridge and Connect emulators,
 * the task scheduler, and through sandbox/pipeline.ts every function instance), so that moving it
 * moves the whole local stack at once: backoffs, due transfers and redrives hours away happen at
 * once, and every component agrees on the time.
 *
 * Real-time waits (the pollers' batching windows, a Lambda context's remaining time, the budget's
 * pacing) are not on this clock: moving it ends none of them.
 *
 *   const clock = createMovableClock();
 *   clock.advance(2 * 60 * 60_000);   // two hours later, for everything that reads clock.now
 */

export interface MovableClock {
  /** The time in epoch milliseconds: the wall clock plus every move so far (a bound function). */
  readonly now: () => number;
  /**
   * Moves the clock forward by `ms`, then calls every `onAdvance` listener with the new time.
   * @param ms - A finite number ≥ 0.
   * @throws RangeError for a negative or non-finite `ms`.
   */
  advance(ms: number): void;
  /** How far the clock is ahead of the wall clock, in ms (the sum of the moves). */
  offsetMs(): number;
  /**
   * Calls `listener` with the new time after every `advance` (the Connect emulator runs what came
   * due, the task scheduler sends the occurrences the move passed).
   * @returns The function that removes the listener.
   */
  onAdvance(listener: (nowMs: number) => void): () => void;
}

interface MovableClockOptions {
  /**
   * The clock the offset is added to, in epoch ms.
   * @default Date.now
   */
  wallClock?: () => number;
}

/**
 * Makes a movable clock that starts at the wall clock.
 *
 * @example
 *   const clock = createMovableClock();
 *   const sqs = createSqsEmulator({ now: clock.now });
 *   clock.advance(31_000); // in-flight messages with a 30 s visibility are visible again
 */
export function createMovableClock(options: MovableClockOptions = {}): MovableClock {
  const wallClock = options.wallClock ?? Date.now;
  const listeners = new Set<(nowMs: number) => void>();
  let offset = 0;
  const now = () => wallClock() + offset;
  return {
    now,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0)
        throw new RangeError(`advance: ms must be finite and ≥ 0, got ${ms}`);
      offset += ms;
      const at = now();
      for (const listener of [...listeners]) listener(at);
    },
    offsetMs: () => offset,
    onAdvance(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
