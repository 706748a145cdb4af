/**
 * `task-ingest schedules` in process, with the sandbox's clock route answered by an injected fetch:
 * times in every zone read the same way, and "now" is the sandbox's clock or, said so, this machine's.
 */
import { describe, expect, it } from 'vitest';
import { formatInTimeZone } from '#lib/schedules/expression.ts';

describe('times in a time zone', () => {
  it('prints America/New_York with its abbreviation and offset, as Europe/Berlin', () => {
    // Prepare
    const at = Date.parse('2027-01-04T08:00:00Z');

    // Act
    const newYork = formatInTimeZone(at, 'America/New_York');
    const berlin = formatInTimeZone(at, 'Europe/Berlin');
    const tokyo = formatInTimeZone(at, 'Asia/Tokyo');

    // Assess
    expect(newYork).toBe('Mon 2027-01-04 03:00 EST (UTC-05:00)');
    expect(berlin).toBe('Mon 2027-01-04 09:00 CET (UTC+01:00)');
    expect(tokyo).toBe('Mon 2027-01-04 17:00 UTC+09:00');
    expect(formatInTimeZone(at, 'UTC')).toBe('Mon 2027-01-04 08:00 UTC');
  });
});
