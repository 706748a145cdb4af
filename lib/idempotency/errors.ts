/** The errors of the derived ids. */
import { serviceError } from '#lib/errors.ts';

/** A token part is empty (an empty part would make distinct effects collide). */
export class TokenDerivationError extends serviceError('TokenDerivationError', true) {}
