/** The errors of the envelope feature. */
import { ServiceError } from '#lib/errors.ts';

export type EnvelopeErrorCode = 'MalformedJson' | 'MissingSource' | 'MissingId' | 'InvalidEnvelope';

/** The record cannot be normalised; always a PERMANENT failure (the message goes to the DLQ). */
export class EnvelopeError extends ServiceError {
  override readonly name: string = 'EnvelopeError';
  readonly permanent = true;
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
