/** The errors of the DLQ redrive and its ops. */
import { ServiceError } from '#lib/errors.ts';

/** The redrive function was invoked with an input that is neither the schedule's nor an ops replay. */
export class RedriveEventError extends ServiceError {
  override readonly name: string = 'RedriveEventError';
  readonly code: string = 'RedriveEventError';
  readonly permanent = true;
}

/** SQS answered without what its API reference promises (a MessageId, a ReceiptHandle). */
export class SqsPortError extends ServiceError {
  override readonly name: string = 'SqsPortError';
  readonly code: string = 'SqsPortError';
  readonly permanent = false;
}

/** An ops action on the DLQ that would act on everything by mistake. */
export class DlqOpsError extends ServiceError {
  override readonly name: string = 'DlqOpsError';
  readonly code: string = 'DlqOpsError';
  readonly permanent = true;
}

/** A redrive run stopped (a queue it cannot reach or that has no URL); the cause says why. */
export class RedriveError extends ServiceError {
  override readonly name: string = 'RedriveError';
  readonly code: string = 'RedriveError';
  readonly permanent = false;
}
