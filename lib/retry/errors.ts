/** The errors of the failure handling: DLQ records and the invocation's deadline. */
import { serviceError } from '#lib/errors.ts';

/** A DLQ message whose failure record cannot be read, so it cannot be rewritten or replayed. */
export class DlqRecordError extends serviceError('DlqRecordError', true) {}

/**
 * A wait was not started (or a slot not booked) because the invocation would run short: the work it
 * was for was not attempted. Never a failure of the work itself; `code` names it in logs and metrics.
 */
export class DeadlineError extends serviceError('NotAttempted', false, 'DeadlineError') {
  constructor(
    /** What was not waited for ("a StartTaskContact budget slot", "the task's lease"). */
    readonly waitFor: string,
    /** The wait, or its lower bound, in ms (undefined when unknown). */
    readonly waitMs: number | undefined,
    /** What the deadline allowed, in ms. */
    readonly allowanceMs: number,
  ) {
    super(
      `not attempted: ${waitFor} ${waitMs ? `(${Math.ceil(waitMs)} ms away) ` : ''}does not fit in the ${Math.max(0, Math.floor(allowanceMs))} ms the invocation has left before its margin`,
    );
  }
}
