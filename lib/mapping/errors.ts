/** The errors of the mapping feature. */
import { serviceError } from '#lib/errors.ts';

/** The rule could not map this envelope (a PERMANENT failure, code `MappingFailed`). */
export class MappingError extends serviceError('MappingFailed', true, 'MappingError') {
  /** The rule field at fault, e.g. `mapping.name`, `mapping.attributes.orderId`, `idempotencyKey`. */
  readonly field: string;
  readonly ruleId?: string;

  constructor(field: string, message: string, options?: { cause?: unknown; ruleId?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = field;
    if (options?.ruleId !== undefined) this.ruleId = options.ruleId;
  }
}

/** A string that is not an ISO-8601 duration this module can apply. */
export class DurationError extends serviceError('DurationError', true) {}
