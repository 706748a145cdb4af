import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fullJitterSeconds,
  MAX_VISIBILITY_SECONDS,
  overQuotaNextAttempt,
  transientVisibilitySeconds,
} from '#lib/retry/backoff.ts';

const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const attempt = fc.integer({ min: 0, max: 200 });
const seconds = fc.integer({ min: 0, max: 100_000 });

describe('fullJitterSeconds', () => {
  it('stays an integer within [0, min(cap, base * 2 ** attempt)]', () => {
    fc.assert(
      fc.property(attempt, seconds, seconds, unit, (a, base, cap, r) => {
        const sleep = fullJitterSeconds(a, base, cap, () => r);
        expect(Number.isInteger(sleep)).toBe(true);
        expect(sleep).toBeGreaterThanOrEqual(0);
        expect(sleep).toBeLessThanOrEqual(Math.min(cap, base * 2 ** Math.min(a, 64)));
      }),
      { numRuns: 500 },
    );
  });

  it('reaches both ends of the window', () => {
    expect(fullJitterSeconds(3, 2, 1000, () => 0)).toBe(0);
    expect(fullJitterSeconds(3, 2, 1000, () => 0.999999)).toBe(16);
    expect(fullJitterSeconds(30, 2, 300, () => 0.999999)).toBe(300);
  });

  it('grows its window monotonically with the attempt for the same random draw', () => {
    fc.assert(
      fc.property(attempt, seconds, seconds, unit, (a, base, cap, r) => {
        expect(fullJitterSeconds(a + 1, base, cap, () => r)).toBeGreaterThanOrEqual(
          fullJitterSeconds(a, base, cap, () => r),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('transientVisibilitySeconds', () => {
  it('is always within 1..43,200 seconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 1_000 }),
        seconds,
        fc.integer({ min: 0, max: 10_000_000 }),
        unit,
        (rc, base, cap, r) => {
          const v = transientVisibilitySeconds(rc, { baseSeconds: base, capSeconds: cap, random: () => r });
          expect(Number.isInteger(v)).toBe(true);
          expect(v).toBeGreaterThanOrEqual(1);
          expect(v).toBeLessThanOrEqual(MAX_VISIBILITY_SECONDS);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('uses [0, base] on the first receive and doubles the window per receive', () => {
    const cfg = { baseSeconds: 2, capSeconds: 300, random: () => 0.999999 };

    expect(transientVisibilitySeconds(1, cfg)).toBe(2);
    expect(transientVisibilitySeconds(2, cfg)).toBe(4);
    expect(transientVisibilitySeconds(4, cfg)).toBe(16);
    expect(transientVisibilitySeconds(20, cfg)).toBe(300);
  });
});

describe('overQuotaNextAttempt', () => {
  it('is never earlier than base nor later than cap after now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 3_600 }),
        fc.integer({ min: 1, max: 86_400 }),
        unit,
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        (attempts, base, cap, r, nowMs) => {
          const next = overQuotaNextAttempt(
            attempts,
            { baseSeconds: base, capSeconds: cap, random: () => r },
            nowMs,
          );
          const delay = (next.getTime() - nowMs) / 1000;
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.min(base, cap));
          expect(delay).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('jitters: different draws spread over [base, min(cap, base * 2 ** attempts)]', () => {
    const cfg = { baseSeconds: 60, capSeconds: 3_600 };
    const at = 1_700_000_000_000;

    const low = overQuotaNextAttempt(2, { ...cfg, random: () => 0 }, at);
    const high = overQuotaNextAttempt(2, { ...cfg, random: () => 0.999999 }, at);

    expect(low.getTime() - at).toBe(60_000);
    expect(high.getTime() - at).toBe(240_000);
  });
});
