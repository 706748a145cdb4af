/** The errors of the derived ids. */
import { ServiceError } from '#lib/errors.ts';

/** A token part is empty (an empty part would make distinct effects collide). */
export class TokenDerivationError extends ServiceError {
  override readonly name: string = 'TokenDerivationError';
  readonly code: string = 'TokenDerivationError';
  readonly permanent = true;
}
