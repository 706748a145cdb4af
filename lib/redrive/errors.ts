/** The errors of the DLQ redrive and its ops. */
import { serviceError } from '#lib/errors.ts';

/** The redrive function was invoked with an input that is neither the schedule's nor an ops replay. */
export class RedriveEventError extends serviceError('RedriveEventError', true) {}

/** SQS answered without what its API reference promises (a MessageId, a ReceiptHandle). */
export class SqsPortError extends serviceError('SqsPortError', false) {}

/** An ops action on the DLQ that would act on everything by mistake. */
export class DlqOpsError extends serviceError('DlqOpsError', true) {}

/** A redrive run stopped (a queue it cannot reach or that has no URL); the cause says why. */
export class RedriveError extends serviceError('RedriveError', false) {}
