/**
 * The errors of the ingest path, with a code that names the problem (field, limit, rule) and never
 * carries task contents. `classifyError` (lib/retry/classify.ts) sorts them by class.
 */
import { codedServiceError, ServiceError, serviceError } from '#lib/errors.ts';

/** A refusal: PERMANENT, parks the message in the DLQ with its reason. */
export class IngestRefusalError extends codedServiceError('IngestRefusalError', true) {}

/**
 * A TRANSIENT condition of our own, classified TRANSIENT with its own code (e.g. TaskNotFound: the
 * earlier task a transfer or an update asks for is not there yet).
 */
export class IngestRetryError extends codedServiceError('IngestRetryError', false) {}

/**
 * StartTaskContact answered 402 for a PreviousContactId chain the ledger counts as full, and the rule
 * says `onChainLimit: park`. No backoff cures it: PERMANENT.
 */
export class ChainLimitError extends serviceError('ChainLimit', true, 'ChainLimitError') {
  constructor(
    readonly previousContactId: string,
    readonly counted: number,
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    super(
      `PreviousContactId ${previousContactId} already has ${counted} tasks in its chain (counted in the ledger); ` +
        `a chain holds at most ${limit} linked tasks (StartTaskContact 402). ` +
        `Set the rule's options.onChainLimit to "related" to link such events by RelatedContactId, or start a new chain`,
      options,
    );
  }
}

/** StartTaskContact answered without the ContactId its API reference promises. */
export class ConnectResponseError extends serviceError('ConnectResponseError', false) {}

/** Thrown to the batch processor so the record is reported as a batch item failure. */
export class RecordNotDoneError extends ServiceError {
  override readonly name: string = 'RecordNotDoneError';
  readonly permanent = false;
  constructor(
    readonly failureClass: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(`record not done (${failureClass} ${code}); SQS will deliver it again`, options);
  }
}
