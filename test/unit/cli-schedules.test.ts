/**
 * `task-ingest schedules` in process, with the sandbox's clock route answered by an injected fetch:
 * times in every zone read the same way, and "now" is the sandbox's clock or, said so, this machine's.
 */
import { describe, expect, it } from 'vitest';
import { formatInTimeZone } from '#lib/schedules/expression.ts';
import { runCli } from '#test/support/cli.ts';

const SANDBOX = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' };

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

describe('task-ingest schedules next', () => {
  it("counts from the sandbox's clock", async () => {
    // Prepare: the sandbox's clock on a Sunday evening of 2030.
    const fetch = async () => Response.json({ now: '2030-06-02T18:00:00.000Z' });

    // Act
    const result = await runCli(['schedules', 'next', 'weekday-escalations', '-n', '1'], {
      env: SANDBOX,
      fetch,
    });

    // Assess
    expect(result.code, result.err).toBe(0);
    expect(result.out).toBe('Mon 2030-06-03 09:00 CEST (UTC+02:00)  (2030-06-03T07:00:00Z)\n');
  });

  it("says so when a loopback endpoint has no sandbox clock, and counts from this machine's", async () => {
    // Prepare
    const fetch = async () => new Response('not found', { status: 404 });

    // Act
    const result = await runCli(['schedules', 'next', 'weekday-escalations', '-n', '1'], {
      env: SANDBOX,
      fetch,
    });

    // Assess
    expect(result.code).toBe(0);
    expect(result.err).toContain(
      "has no sandbox clock (GET /_sandbox/clock: 404); using this machine's clock",
    );
    expect(result.out).toMatch(/09:00 CES?T \(UTC\+0[12]:00\)/);
  });
});
