/** The invocation's deadline (lib/retry/deadline.ts): what fits, and finding the error it raises. */
import { describe, expect, it } from 'vitest';
import {
  assertFits,
  deadlineErrorIn,
  fits,
  lambdaDeadline,
  NO_DEADLINE,
  waitAllowanceMs,
} from '#lib/retry/deadline.ts';
import { DeadlineError } from '#lib/retry/errors.ts';

describe('the invocation’s deadline', () => {
  it('lets a wait start only when it and the margin fit in the time left', () => {
    const deadline = lambdaDeadline({ getRemainingTimeInMillis: () => 25_000 }, 10_000);
    expect(waitAllowanceMs(deadline)).toBe(15_000);
    expect(fits(deadline, 15_000)).toBe(true);
    expect(fits(deadline, 15_001)).toBe(false);
    expect(fits(NO_DEADLINE, Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('says what was not waited for, and how far it was, when a wait does not fit', () => {
    const deadline = lambdaDeadline({ getRemainingTimeInMillis: () => 12_000 }, 10_000);
    const error = (() => {
      try {
        assertFits(deadline, 3_000, "another delivery's lease");
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DeadlineError);
    expect(error).toMatchObject({ code: 'NotAttempted', waitMs: 3_000, allowanceMs: 2_000 });
    expect((error as Error).message).toBe(
      "not attempted: another delivery's lease (3000 ms away) does not fit in the 2000 ms the invocation has left before its margin",
    );
  });

  it('finds the DeadlineError an SDK or a wrapper holds as its cause', () => {
    const inner = new DeadlineError('a budget slot', 30_000, 5_000);
    const wrapped = new Error('middleware failed', { cause: new Error('again', { cause: inner }) });
    expect(deadlineErrorIn(wrapped)).toBe(inner);
    expect(deadlineErrorIn(new Error('other'))).toBeUndefined();
  });
});
