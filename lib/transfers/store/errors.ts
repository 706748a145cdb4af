/** The errors of the transfer store adapters. */
export class TransferStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferStoreError';
  }
}

/** A stored record that is not a valid transfer item (written by hand, or by an older version). */
export class TransferRecordError extends TransferStoreError {
  constructor(message: string) {
    super(message);
    this.name = 'TransferRecordError';
  }
}

/** A cursor that this store did not produce. */
export class TransferCursorError extends TransferStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransferCursorError';
  }
}
