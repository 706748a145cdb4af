/**
 * EventBridge Scheduler expressions: the cron translation to croner, occurrence times in a time zone
 * across daylight-saving changes (as EventBridge Scheduler documents them: a time that does not exist
 * is skipped, a repeated time runs once), one-time and rate schedules, start and end dates.
 */
import { describe, expect, it } from 'vitest';
import { ScheduleExpressionError } from '#lib/schedules/errors.ts';
import {
  formatScheduledTime,
  occurrencesAfter,
  occurrencesBefore,
  parseScheduleExpression,
  translateCron,
} from '#lib/schedules/expression.ts';

const iso = (ms: number[]) => ms.map(formatScheduledTime);
const at = (text: string) => Date.parse(text);
const next = (expr: string, timezone: string, after: string, count: number, extra = {}) =>
  iso(occurrencesAfter(parseScheduleExpression(expr), { timezone, ...extra }, at(after), count));

describe('translateCron (EventBridge 6 fields → croner 7 parts, Quartz weekdays)', () => {
  it.each([
    ['0 9 ? * MON-FRI *', '0 0 9 * * MON-FRI *'],
    ['0 8 1 * ? *', '0 0 8 1 * * *'],
    ['0/15 * * * ? *', '0 0-59/15 * * * * *'],
    ['*/10 9-17 ? * 2-6 *', '0 */10 9-17 * * 2-6 *'],
    ['0 18 L * ? *', '0 0 18 L * * *'],
    ['0 8 15W * ? *', '0 0 8 15W * * *'],
    ['0 10 ? * 6L *', '0 0 10 * * 6#L *'],
    ['0 10 ? * 2#1 *', '0 0 10 * * 2#1 *'],
    ['0 10 ? * L *', '0 0 10 * * 7 *'],
    ['30 6 ? JAN,JUL MON 2027-2030', '0 30 6 * JAN,JUL MON 2027-2030'],
  ])('translates cron(%s) to "%s"', (fields, pattern) => {
    expect(translateCron(fields)).toBe(pattern);
  });

  it.each([
    ['0 9 * * MON-FRI *', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['0 9 ? * ? *', /exactly one of day-of-month and day-of-week/],
    ['0 9 * * ?', /6 fields/],
    ['60 9 ? * MON *', /minutes "60" is not 0-59/],
    ['0 24 ? * MON *', /hours "24" is not 0-23/],
    ['0 9 ? * 0 *', /day-of-week "0" is not 1-7 or SUN-SAT/],
    ['0 9 ? 13 MON *', /month "13" is not 1-12/],
    ['0 9 ? * MON 1969', /year "1969" is not 1970-2199/],
    ['0 9 L ? * *', /"\?" is only allowed|exactly one/],
    ['0 9W ? * MON *', /L, W or #/],
    ['0 9 ? * MON#6 *', /L, W or #/],
    ['0 9 5-1 * ? *', /runs backwards/],
  ])('refuses cron(%s)', (fields, message) => {
    expect(() => parseScheduleExpression(`cron(${fields})`)).toThrow(message);
  });

  it('runs a Quartz weekday range on weekdays only', () => {
    expect(next('cron(0 12 ? * 2-6 *)', 'UTC', '2026-12-04T13:00:00Z', 3)).toEqual([
      '2026-12-07T12:00:00Z',
      '2026-12-08T12:00:00Z',
      '2026-12-09T12:00:00Z',
    ]);
    expect(next('cron(0 10 ? * 6L *)', 'UTC', '2026-12-01T00:00:00Z', 2)).toEqual([
      '2026-12-25T10:00:00Z',
      '2027-01-29T10:00:00Z',
    ]);
  });
});

describe('occurrences across daylight-saving changes', () => {
  it('keeps 09:00 Europe/Berlin on weekdays across the spring change (UTC 08:00 → 07:00)', () => {
    expect(next('cron(0 9 ? * MON-FRI *)', 'Europe/Berlin', '2027-03-25T12:00:00Z', 3)).toEqual([
      '2027-03-26T08:00:00Z',
      '2027-03-29T07:00:00Z',
      '2027-03-30T07:00:00Z',
    ]);
  });

  it('keeps 09:00 Europe/Berlin across the autumn change (UTC 07:00 → 08:00)', () => {
    expect(next('cron(0 9 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z', 3)).toEqual([
      '2026-10-25T08:00:00Z',
      '2026-10-26T08:00:00Z',
      '2026-10-27T08:00:00Z',
    ]);
  });

  it('skips 02:30 Europe/Berlin on the day it does not exist, and runs it once on the day it repeats', () => {
    expect(next('cron(30 2 * * ? *)', 'Europe/Berlin', '2027-03-27T00:00:00Z', 3)).toEqual([
      '2027-03-27T01:30:00Z',
      // 2027-03-28 02:30 does not exist: skipped
      '2027-03-29T00:30:00Z',
      '2027-03-30T00:30:00Z',
    ]);
    expect(next('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2)).toEqual([
      '2026-10-25T00:30:00Z', // the first 02:30 (CEST); not again at 01:30Z (CET)
      '2026-10-26T01:30:00Z',
    ]);
  });

  it('keeps 09:00 America/New_York across both changes (UTC 14:00 ↔ 13:00)', () => {
    expect(next('cron(0 9 ? * MON-FRI *)', 'America/New_York', '2027-03-12T00:00:00Z', 2)).toEqual([
      '2027-03-12T14:00:00Z',
      '2027-03-15T13:00:00Z',
    ]);
    expect(next('cron(0 9 ? * MON-FRI *)', 'America/New_York', '2026-10-30T00:00:00Z', 2)).toEqual([
      '2026-10-30T13:00:00Z',
      '2026-11-02T14:00:00Z',
    ]);
  });

  it('runs an interval schedule once through the repeated hour in New York (01:00-01:59 happens twice)', () => {
    const times = next('cron(0/30 1 * * ? *)', 'America/New_York', '2026-11-01T04:00:00Z', 4);
    expect(times).toEqual([
      '2026-11-01T05:00:00Z', // 01:00 EDT
      '2026-11-01T05:30:00Z', // 01:30 EDT; 01:00 and 01:30 EST are the same wall-clock times: not again
      '2026-11-02T06:00:00Z',
      '2026-11-02T06:30:00Z',
    ]);
  });

  it('lists past occurrences most recent first, with the same rules', () => {
    const before = occurrencesBefore(
      parseScheduleExpression('cron(0 9 ? * MON-FRI *)'),
      { timezone: 'Europe/Berlin' },
      at('2027-03-30T12:00:00Z'),
      3,
    );
    expect(iso(before)).toEqual(['2027-03-30T07:00:00Z', '2027-03-29T07:00:00Z', '2027-03-26T08:00:00Z']);
  });
});

describe('one-time, rate, start and end dates', () => {
  it('fires at() once, at the wall-clock time of its time zone', () => {
    expect(next('at(2027-01-04T08:00:00)', 'Europe/Berlin', '2026-12-01T00:00:00Z', 5)).toEqual([
      '2027-01-04T07:00:00Z',
    ]);
    expect(next('at(2027-07-04T08:00:00)', 'America/New_York', '2026-12-01T00:00:00Z', 5)).toEqual([
      '2027-07-04T12:00:00Z',
    ]);
    expect(next('at(2027-01-04T08:00:00)', 'Europe/Berlin', '2027-01-04T07:00:00Z', 5)).toEqual([]);
  });

  it('counts rate() from the start date, or from the creation, in fixed periods', () => {
    expect(
      next('rate(1 day)', 'Europe/Berlin', '2027-03-27T00:00:00Z', 3, {
        startDate: at('2027-03-20T09:00:00Z'),
      }),
    ).toEqual(['2027-03-27T09:00:00Z', '2027-03-28T09:00:00Z', '2027-03-29T09:00:00Z']);
    expect(
      next('rate(15 minutes)', 'UTC', '2027-01-01T00:00:00Z', 2, { createdAt: at('2027-01-01T00:00:00Z') }),
    ).toEqual(['2027-01-01T00:15:00Z', '2027-01-01T00:30:00Z']);
  });

  it('runs nothing before the start date and nothing at or after the end date', () => {
    // 2027-04-01 08:00 Berlin is 06:00Z (CEST): the end date excludes it.
    const bounds = { startDate: at('2027-02-01T00:00:00Z'), endDate: at('2027-04-01T06:00:00Z') };
    expect(next('cron(0 8 1 * ? *)', 'Europe/Berlin', '2026-12-01T00:00:00Z', 5, bounds)).toEqual([
      '2027-02-01T07:00:00Z',
      '2027-03-01T07:00:00Z',
    ]);
    expect(next('rate(30 days)', 'UTC', '2027-01-01T00:00:00Z', 5, bounds)).toEqual([
      '2027-02-01T00:00:00Z',
      '2027-03-03T00:00:00Z',
    ]);
  });

  it.each([
    ['rate(0 minutes)', /positive integer/],
    ['rate(1 minutes)', /singular/],
    ['rate(5 minute)', /plural/],
    ['rate(5 weeks)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['at(2027-02-30T08:00:00)', /a real date and time/],
    ['at(2027-01-04 08:00)', /at\(yyyy-mm-ddThh:mm:ss\)/],
    ['every day', /is not a schedule expression/],
  ])('refuses %s', (expr, message) => {
    expect(() => parseScheduleExpression(expr)).toThrow(ScheduleExpressionError);
    expect(() => parseScheduleExpression(expr)).toThrow(message);
  });
});
