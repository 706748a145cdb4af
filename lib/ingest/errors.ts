/**
 * Conditions of the ingest path itself, with a code that names the problem (field, limit, rule) and
 * never carries task contents. `permanent` is what `classifyError` reads (lib/retry/classify.ts).
 */
abstract class IngestCodedError extends Error {
  abstract readonly permanent: boolean;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A refusal: PERMANENT, parks the message in the DLQ with its reason. */
export class IngestRefusalError extends IngestCodedError {
  readonly permanent = true as const;
  override readonly name = 'IngestRefusalError';
}

/** A TRANSIENT condition of our own (e.g. the earlier task a transfer asks for is not there yet). */
export class IngestRetryError extends IngestCodedError {
  readonly permanent = false as const;
  override readonly name = 'IngestRetryError';
}

/** Thrown to the batch processor so the record is reported as a batch item failure. */
export class RecordNotDoneError extends Error {
  constructor(
    readonly failureClass: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`record not done (${failureClass} ${code}); SQS will deliver it again`, options);
    this.name = 'RecordNotDoneError';
  }
}
