/** The errors of the quota budget. */
import { ServiceError } from '#lib/errors.ts';

/** A budget item could not be read or written (DynamoDB refused or could not be reached); the cause says why. */
export class BudgetStoreError extends ServiceError {
  override readonly name: string = 'BudgetStoreError';
  readonly code: string = 'BudgetStoreError';
  readonly permanent = false;
}

/** A budget status was asked for with a window it cannot have. */
export class BudgetStatusError extends ServiceError {
  override readonly name: string = 'BudgetStatusError';
  readonly code: string = 'BudgetStatusError';
  readonly permanent = true;
}
