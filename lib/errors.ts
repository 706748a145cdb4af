/**
 * The service's errors: every error lib/ throws is a `ServiceError`, and each feature keeps its
 * own in its `errors.ts` (`lib/<feature>/errors.ts`). This module holds the base class and the
 * errors of the top-level modules (`config.ts`).
 *
 * Messages name the field or identifier and the problem, never task contents or a value read from a
 * message (customer data). `classifyError` (lib/retry/classify.ts) sorts our errors by class; AWS's
 * by the SDK's exception names.
 */

/**
 * The base of the service's errors.
 *
 * Each subclass sets `name` (kept in logs and, for errors the classifier does not know, the failure
 * record's code), `code` and `permanent`; `cause` keeps the error it wraps.
 *
 * @example
 * export class LedgerStoreError extends ServiceError {
 *   override readonly name: string = 'LedgerStoreError';
 *   readonly code: string = 'LedgerStoreError';
 *   readonly permanent = false;
 * }
 */
export abstract class ServiceError extends Error {
  /** The case, stable across versions: failure records, metrics and docs carry it. */
  abstract readonly code: string;
  /**
   * True when retrying the same input cannot succeed: a message that fails with it is parked for an
   * operator (PERMANENT). False for conditions that may pass and for wrappers whose `cause` decides.
   */
  abstract readonly permanent: boolean;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A function's environment is missing a variable or holds a bad value (thrown at cold start). */
export class ConfigError extends ServiceError {
  override readonly name: string = 'ConfigError';
  readonly code: string = 'ConfigError';
  readonly permanent = true;
}
