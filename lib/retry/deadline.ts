/**
 * The time an invocation has left, and whether a wait still fits in it.
 *
 * A Lambda invocation that runs past its timeout is killed: its SQS batch is not deleted and every
 * record of it waits out the queue's visibility timeout, its receive spent without an attempt. So no
 * wait (a budget slot, another delivery's lease, a retry) is started when the invocation has less
 * time left than that wait plus a margin: the time the caller needs after its last wait to finish
 * (one call, the writes after it, handing back what it could not do). Each caller says where its
 * margin comes from (lib/ingest/handler.ts for ingest, lib/transfers/sweep.ts for the sweep).
 *
 * Time here is execution time (Lambda's `getRemainingTimeInMillis`), never the movable business clock.
 */
import { DeadlineError } from './errors.ts';

/** What an invocation has left. */
export interface Deadline {
  /** Milliseconds of the invocation left now (Lambda's `getRemainingTimeInMillis`). */
  remainingMs(): number;
  /** Milliseconds kept back after the last wait to finish the work it was for. */
  readonly marginMs: number;
}

/** No deadline: every wait fits (tests, the CLI). */
export const NO_DEADLINE: Deadline = Object.freeze({
  remainingMs: () => Number.POSITIVE_INFINITY,
  marginMs: 0,
});

/** The deadline of one Lambda invocation, keeping `marginMs` back. */
export function lambdaDeadline(context: { getRemainingTimeInMillis(): number }, marginMs: number): Deadline {
  return { remainingMs: () => context.getRemainingTimeInMillis(), marginMs };
}

/** How long a wait started now may last: the time left less the margin (negative when none). */
export function waitAllowanceMs(deadline: Deadline): number {
  return deadline.remainingMs() - deadline.marginMs;
}

/** True when a wait of `waitMs` started now still leaves the margin. */
export function fits(deadline: Deadline, waitMs: number): boolean {
  return waitMs <= waitAllowanceMs(deadline);
}

/** Throws `DeadlineError` unless a wait of `waitMs` fits. */
export function assertFits(deadline: Deadline, waitMs: number, waitFor: string): void {
  const allowance = waitAllowanceMs(deadline);
  if (waitMs > allowance) throw new DeadlineError(waitFor, waitMs, allowance);
}

/** The DeadlineError in `error` or its cause chain (an SDK or a wrapper may hold it as `cause`). */
export function deadlineErrorIn(error: unknown): DeadlineError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    if (current instanceof DeadlineError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
