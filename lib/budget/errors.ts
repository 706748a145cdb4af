/** The errors of the quota budget. */
import { serviceError } from '#lib/errors.ts';

/** A budget item could not be read or written (DynamoDB refused or could not be reached); the cause says why. */
export class BudgetStoreError extends serviceError('BudgetStoreError', false) {}

/** A budget status was asked for with a window it cannot have. */
export class BudgetStatusError extends serviceError('BudgetStatusError', true) {}
