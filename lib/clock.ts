/**
 * The service's notion of "now", in epoch milliseconds.
 *
 * On AWS this is the wall clock. The sandbox (and tests) can move it forward so that backoffs,
 * scheduled transfers and DLQ redrives that are hours away happen at once; the sandbox's SQS and
 * Connect emulators read the same clock, so every component agrees on the time.
 */
let offsetMs = 0;

export function now(): number {
  return Date.now() + offsetMs;
}

/** Moves the clock forward by `ms` (sandbox and tests only). */
export function advanceClock(ms: number): void {
  if (!Number.isFinite(ms) || ms < 0)
    throw new TypeError(`advanceClock: ms must be a finite, non-negative number`);
  offsetMs += ms;
  for (const listener of [...listeners]) listener(now());
}

const listeners = new Set<(nowMs: number) => void>();

/**
 * Calls `listener` with the new time after every `advanceClock` (the sandbox's scheduler fires the
 * occurrences the move passed). Returns the function that removes it.
 */
export function onClockAdvance(listener: (nowMs: number) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Waits `ms` of real time, on the global timer (tests' fake timers control it); moving the clock
 * does not end it.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

export function clockOffsetMs(): number {
  return offsetMs;
}

export function resetClock(): void {
  offsetMs = 0;
}
