import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DurationError } from '#lib/mapping/errors.ts';
import { addIsoDuration, EPOCH_MILLIS_THRESHOLD, parseTimeInput } from '#lib/mapping/time.ts';

describe('parseTimeInput', () => {
  it.each([
    ['2024-05-01T09:30:00Z', Date.UTC(2024, 4, 1, 9, 30)],
    ['2024-05-01T09:30:00.5Z', Date.UTC(2024, 4, 1, 9, 30, 0, 500)],
    ['2024-05-01T11:30:00+02:00', Date.UTC(2024, 4, 1, 9, 30)],
    ['2024-05-01T04:00-0530', Date.UTC(2024, 4, 1, 9, 30)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('reads the ISO-8601 instant %s', (text, expected) => {
    expect(parseTimeInput(text)).toBe(expected);
  });

  it.each([
    ['a time of day without a zone', '2024-05-01T09:30:00'],
    ['a day that does not exist', '2023-02-29'],
    ['month 13', '2024-13-01'],
    ['hour 24', '2024-05-01T24:00:00Z'],
    ['free text', 'next tuesday'],
    ['an empty string', ''],
  ])('refuses %s', (_label, text) => {
    expect(parseTimeInput(text)).toBeUndefined();
  });

  it('refuses non-time values', () => {
    expect([true, null, undefined, {}, [], Number.NaN, Number.POSITIVE_INFINITY].map(parseTimeInput)).toEqual(
      Array(7).fill(undefined),
    );
  });

  it('reads epoch numbers below the threshold as seconds and at or above it as milliseconds', () => {
    expect(parseTimeInput(EPOCH_MILLIS_THRESHOLD - 1)).toBe((EPOCH_MILLIS_THRESHOLD - 1) * 1000);
    expect(parseTimeInput(EPOCH_MILLIS_THRESHOLD)).toBe(EPOCH_MILLIS_THRESHOLD);
    expect(parseTimeInput('1714555781')).toBe(1714555781000);
    expect(parseTimeInput(1714555781123)).toBe(1714555781123);
  });

  it('reads any epoch-seconds instant the same as its milliseconds and its ISO form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (seconds) => {
        // Prepare
        const ms = seconds * 1000;

        // Act / Assess
        expect(parseTimeInput(seconds)).toBe(ms);
        if (ms >= EPOCH_MILLIS_THRESHOLD) expect(parseTimeInput(ms)).toBe(ms);
        if (ms < 253402300800000) expect(parseTimeInput(new Date(ms).toISOString())).toBe(ms);
      }),
      { numRuns: 300 },
    );
  });
});

describe('addIsoDuration', () => {
  const start = Date.UTC(2024, 0, 31, 12);

  it.each([
    ['PT2H', start + 2 * 3600_000],
    ['PT1H30M', start + 90 * 60_000],
    ['P1DT0.5S', start + 86_400_000 + 500],
    ['P2W', start + 14 * 86_400_000],
    ['P1Y', Date.UTC(2025, 0, 31, 12)],
    ['P1M', Date.UTC(2024, 2, 2, 12)],
  ])('adds %s', (duration, expected) => {
    expect(addIsoDuration(start, duration)).toBe(expected);
  });

  it.each(['P', 'PT', '2H', 'P1H', 'PT-1H', 'P0.5Y'])('refuses %s', (duration) => {
    expect(() => addIsoDuration(start, duration)).toThrow(DurationError);
  });
});
