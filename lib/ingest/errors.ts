/**
 * Refusals of the ingest path: PERMANENT failures that park the message in the DLQ with a reason.
 * The reason names the problem (field, limit, rule) and never carries task contents.
 */
export class IngestRefusalError extends Error {
  readonly permanent = true as const;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IngestRefusalError';
  }
}

/** A TRANSIENT condition of our own (e.g. the earlier task a transfer asks for is not there yet). */
export class IngestRetryError extends Error {
  readonly permanent = false as const;
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IngestRetryError';
  }
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
