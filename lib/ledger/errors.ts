/** The errors of the ledger adapters. */

/** A ledger read or write failed (DynamoDB refused or could not be reached); the cause says why. */
export class LedgerStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerStoreError';
  }
}

/** A stored item that is not a valid ledger record (written by hand, or by an older version). */
export class LedgerRecordError extends LedgerStoreError {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerRecordError';
  }
}
