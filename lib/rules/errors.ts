/** The errors of the rules feature: the store, compilation and evaluation. */
import { serviceError } from '#lib/errors.ts';

/** A rules table read or write failed; the cause says why. The base of the store's errors. */
export class RuleStoreError extends serviceError('RuleStoreError', false) {}

/** The rule was refused before it was stored; `errors` lists every problem found. */
export class RuleValidationError extends RuleStoreError {
  override readonly name: string = 'RuleValidationError';
  override readonly code: string = 'RuleValidationError';
  override readonly permanent: boolean = true;
  constructor(readonly errors: readonly string[]) {
    super(`rule is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}): ${errors.join('; ')}`);
  }
}

/** The stored rule changed between read and write (a concurrent put/delete), or did not have the expected version. */
export class RuleConflictError extends RuleStoreError {
  override readonly name: string = 'RuleConflictError';
  override readonly code: string = 'RuleConflictError';
  constructor(
    readonly source: string,
    readonly ruleId: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`rule ${ruleId} of source ${source}: ${detail}`, options);
  }
}

/**
 * A rule expression failed at evaluation time (thrown, timed out, or produced an oversized result):
 * PERMANENT, code `RuleEvaluationFailed`.
 */
export class RuleEvaluationError extends serviceError('RuleEvaluationFailed', true, 'RuleEvaluationError') {
  readonly ruleId: string;
  readonly source: string;
  /** The expression's place in the rule, e.g. `match`, `mapping.attributes.orderId`. */
  readonly path: string;
  /** JSONata error code (e.g. `T2001`, `D1012`), or `OutputTooLarge`. */
  readonly expressionCode: string;
  readonly position?: number;

  /** `args.code`: the JSONata error code. */
  constructor(
    args: { ruleId: string; source: string; path: string; code: string; position?: number; detail: string },
    options?: ErrorOptions,
  ) {
    const at = args.position === undefined ? '' : ` at ${args.position}`;
    super(
      `rule "${args.ruleId}" (${args.source}) ${args.path}: JSONata ${args.code}${at}: ${args.detail}`,
      options,
    );
    this.ruleId = args.ruleId;
    this.source = args.source;
    this.path = args.path;
    this.expressionCode = args.code;
    if (args.position !== undefined) this.position = args.position;
  }
}

/** `compileRule` was given a rule whose expressions do not compile (it bypassed `validateRule`). */
export class RuleCompileError extends serviceError('RuleCompileError', true) {
  constructor(
    readonly ruleId: string,
    readonly errors: readonly string[],
  ) {
    super(`rule "${ruleId}" does not compile: ${errors.join('; ')}`);
  }
}
