/** The errors of the transfers feature: plans and requests, the store, the gateway, the sweep. */
import { ServiceError, serviceError } from '#lib/errors.ts';

/** A transfer plan or request that cannot be performed as given: PERMANENT with its code. */
export class TransferPlanError extends ServiceError {
  override readonly name: string = 'TransferPlanError';
  readonly permanent = true;
  constructor(
    message: string,
    readonly code: string = 'InvalidTransferPlan',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** An invocation of the transfer function that is neither a sweep nor an EventBridge event with a `detail`. */
export class TransferInvocationError extends serviceError('TransferInvocationError', true) {}

/** Connect answered DescribeContact or TransferContact without what its API reference promises. */
export class TransferGatewayError extends serviceError('TransferGatewayError', false) {}

/** One transfer of a sweep failed unexpectedly; the cause says why (its lease expires, it comes back). */
export class SweepError extends serviceError('SweepError', false) {}

/** A transfers table read or write failed; the cause says why. The base of the store's errors. */
export class TransferStoreError extends serviceError('TransferStoreError', false) {}

/** A stored record that is not a valid transfer item (written by hand, or by an older version). */
export class TransferRecordError extends TransferStoreError {
  override readonly name: string = 'TransferRecordError';
  override readonly code: string = 'TransferRecordError';
}

/** A cursor that this store did not produce. */
export class TransferCursorError extends TransferStoreError {
  override readonly name: string = 'TransferCursorError';
  override readonly code: string = 'TransferCursorError';
}
