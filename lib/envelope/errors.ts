/** The errors of the envelope feature. */
import { codedServiceError } from '#lib/errors.ts';

export type EnvelopeErrorCode = 'MalformedJson' | 'MissingSource' | 'MissingId' | 'InvalidEnvelope';

/** The record cannot be normalised; always a PERMANENT failure (the message goes to the DLQ). */
export class EnvelopeError extends codedServiceError<EnvelopeErrorCode>('EnvelopeError', true) {}
