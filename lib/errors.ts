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
 * Most classes extend it through `serviceError` (one code per class) or `codedServiceError` (a code
 * per instance); a class with fields of its own extends it directly.
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

/**
 * The base of an error class whose every instance has the same `code` and `permanent`; `name`
 * defaults to the code.
 *
 * @param code - the class's `code`.
 * @param permanent - the class's `permanent`.
 * @param name - the class's `name`, when it differs from the code.
 * @example
 * export class LedgerStoreError extends serviceError('LedgerStoreError', false) {}
 */
export function serviceError(code: string, permanent: boolean, name: string = code) {
  return class extends ServiceError {
    override readonly name: string = name;
    readonly code: string = code;
    readonly permanent: boolean = permanent;
  };
}

/**
 * The base of an error class whose instances each carry their own `code` (given first to the
 * constructor) and share `permanent` and `name`.
 *
 * @param name - the class's `name`.
 * @param permanent - the class's `permanent`.
 * @example
 * export class EnvelopeError extends codedServiceError<EnvelopeErrorCode>('EnvelopeError', true) {}
 * throw new EnvelopeError('MissingId', 'CloudEvents message has no "id"');
 */
export function codedServiceError<Code extends string = string>(name: string, permanent: boolean) {
  return class extends ServiceError {
    override readonly name: string = name;
    readonly permanent: boolean = permanent;
    constructor(
      readonly code: Code,
      message: string,
      options?: ErrorOptions,
    ) {
      super(message, options);
    }
  };
}

/** A function's environment is missing a variable or holds a bad value (thrown at cold start). */
export class ConfigError extends serviceError('ConfigError', true) {}
