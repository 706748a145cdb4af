/** The errors of the ledger adapters. */
import { serviceError } from '#lib/errors.ts';

/** A ledger read or write failed (DynamoDB refused or could not be reached); the cause says why. */
export class LedgerStoreError extends serviceError('LedgerStoreError', false) {}

/** A stored item that is not a valid ledger record (written by hand, or by an older version). */
export class LedgerRecordError extends LedgerStoreError {
  override readonly name: string = 'LedgerRecordError';
  override readonly code: string = 'LedgerRecordError';
}
