/**
 * EventBridge Scheduler schedule expressions: parsing, validation and occurrence times.
 *
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields, EventBridge syntax
 *   (`, - * / ?` everywhere they are allowed, `L` and `W` in day-of-month, `L` and `#` in
 *   day-of-week, day-of-week 1-7 = SUN-SAT, one of day-of-month and day-of-week must be `?`).
 *   Occurrence times come from croner (https://croner.56k.guru) after a translation to its 7-part
 *   pattern (`translateCron`), evaluated in the schedule's IANA time zone.
 * - `rate(value unit)`: every value minutes, hours or days (a day is 24 hours, as on EventBridge),
 *   from the schedule's start date or, without one, from when the schedule was created.
 * - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the schedule's time zone (croner).
 *
 * Daylight saving, as EventBridge Scheduler documents it: a cron time that does not exist (spring
 * forward) is skipped, and a time that occurs twice (fall back) runs once, on its first pass.
 * croner runs a fixed-time job after the gap and an interval job on both passes, so the results
 * are filtered: an occurrence croner's own `match` refuses (moved out of the gap) is dropped, and so
 * is the second pass through a repeated wall-clock time.
 */
import { Cron } from 'croner';
import { isPositiveInteger } from '#lib/guards.ts';
import { ScheduleExpressionError } from './errors.ts';

export type ScheduleExpression =
  | { kind: 'cron'; text: string; fields: readonly string[]; pattern: string }
  | { kind: 'rate'; text: string; value: number; unit: 'minutes' | 'hours' | 'days'; periodMs: number }
  | { kind: 'at'; text: string; local: string };

/** When a schedule may run: its time zone and optional start / end (epoch ms; start inclusive, end exclusive). */
export interface OccurrenceBounds {
  timezone: string;
  startDate?: number;
  endDate?: number;
  /** rate(): the first occurrence when there is no start date (the schedule's creation). */
  createdAt?: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS },
  { name: 'year', min: 1970, max: 2199 },
];

function fieldValue(text: string, spec: FieldSpec, expr: string): number {
  const upper = text.toUpperCase();
  const named = spec.names?.indexOf(upper) ?? -1;
  const value = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    const names = spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : '';
    throw new ScheduleExpressionError(
      `${expr}: ${spec.name} "${text}" is not ${spec.min}-${spec.max}${names}`,
    );
  }
  return value;
}

/**
 * One list item of a field (`*`, `5`, `1-5`, `MON-FRI`, `0/15`, `*\/10`, `10-50/5`), checked and
 * written for croner: a step without a range (`0/15`, EventBridge's usual form) becomes
 * `0-<max>/15`, because croner only takes `*\/n` or `a-b/n`.
 */
function rangeItem(item: string, spec: FieldSpec, expr: string): string {
  const [base = '', step, extra] = item.split('/');
  if (extra !== undefined || base === '') {
    throw new ScheduleExpressionError(`${expr}: ${spec.name} "${item}" is not a valid list item`);
  }
  if (step !== undefined && (!/^\d+$/.test(step) || Number(step) < 1)) {
    throw new ScheduleExpressionError(`${expr}: ${spec.name} step "${step}" must be a positive integer`);
  }
  if (base === '*') return item;
  const [from = '', to, more] = base.split('-');
  if (more !== undefined) {
    throw new ScheduleExpressionError(`${expr}: ${spec.name} "${item}" is not a valid range`);
  }
  const a = fieldValue(from, spec, expr);
  if (to !== undefined) {
    const b = fieldValue(to, spec, expr);
    if (b < a) throw new ScheduleExpressionError(`${expr}: ${spec.name} range "${base}" runs backwards`);
    return item;
  }
  return step === undefined ? item : `${from}-${spec.max}/${step}`;
}

function translateField(value: string, index: number, expr: string): string {
  const spec = FIELDS[index] as FieldSpec;
  if (value === '?') {
    if (index !== 2 && index !== 4) {
      throw new ScheduleExpressionError(`${expr}: "?" is only allowed in day-of-month or day-of-week`);
    }
    return '*';
  }
  if (index === 2) {
    if (value === 'L') return 'L';
    const weekday = /^(\d{1,2})W$/.exec(value);
    if (weekday) return `${fieldValue(weekday[1] as string, spec, expr)}W`;
  }
  if (index === 4) {
    // Quartz / EventBridge: `L` alone is the last day of the week (Saturday), `6L` the last Friday
    // of the month (croner: `6#L`), `2#1` the first Monday.
    if (value === 'L') return '7';
    const last = /^([A-Za-z]{3}|\d)L$/.exec(value);
    if (last) {
      fieldValue(last[1] as string, spec, expr);
      return `${last[1]}#L`;
    }
    const nth = /^([A-Za-z]{3}|\d)#([1-5])$/.exec(value);
    if (nth) {
      fieldValue(nth[1] as string, spec, expr);
      return value;
    }
  }
  if (/[LW#?]/i.test(value.replace(/[A-Za-z]{3}/g, ''))) {
    throw new ScheduleExpressionError(
      `${expr}: ${spec.name} "${value}" uses L, W or # where it is not allowed`,
    );
  }
  return value
    .split(',')
    .map((item) => rangeItem(item, spec, expr))
    .join(',');
}

/**
 * Translates the six fields of an EventBridge cron expression to a croner pattern (7 parts:
 * second, minute, hour, day-of-month, month, day-of-week, year; used with `alternativeWeekdays`,
 * so day-of-week keeps EventBridge's 1 = SUN … 7 = SAT).
 *
 * Input: `"0 9 ? * MON-FRI *"`. Output: `"0 0 9 * * MON-FRI *"`. Throws ScheduleExpressionError
 * naming the field for anything EventBridge would refuse.
 */
export function translateCron(fieldsText: string, expr = `cron(${fieldsText})`): string {
  const fields = fieldsText.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleExpressionError(
      `${expr}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  const dom = fields[2] as string;
  const dow = fields[4] as string;
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(
      `${expr}: exactly one of day-of-month and day-of-week must be "?" (EventBridge cannot combine them)`,
    );
  }
  return ['0', ...fields.map((field, i) => translateField(field, i, expr))].join(' ');
}

const RATE_UNITS: Record<string, { unit: 'minutes' | 'hours' | 'days'; ms: number }> = {
  minute: { unit: 'minutes', ms: 60_000 },
  minutes: { unit: 'minutes', ms: 60_000 },
  hour: { unit: 'hours', ms: 3_600_000 },
  hours: { unit: 'hours', ms: 3_600_000 },
  day: { unit: 'days', ms: 86_400_000 },
  days: { unit: 'days', ms: 86_400_000 },
};

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

function croner(pattern: string, bounds: Pick<OccurrenceBounds, 'timezone' | 'startDate' | 'endDate'>) {
  return new Cron(pattern, {
    paused: true,
    timezone: bounds.timezone,
    mode: '7-part',
    alternativeWeekdays: true,
    ...(bounds.startDate === undefined ? {} : { startAt: new Date(bounds.startDate) }),
    ...(bounds.endDate === undefined ? {} : { stopAt: new Date(bounds.endDate) }),
  });
}

/** True for an IANA time zone name this runtime knows (`Europe/Berlin`, `UTC`). */
export function isValidTimeZone(timezone: string): boolean {
  if (typeof timezone !== 'string' || timezone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses and validates a schedule expression. Throws ScheduleExpressionError with the reason.
 */
export function parseScheduleExpression(text: unknown): ScheduleExpression {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new ScheduleExpressionError(
      'the expression must be a non-empty string: cron(...), rate(...) or at(...)',
    );
  }
  const expr = text.trim();
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (cron) {
    const pattern = translateCron(cron[1] as string, expr);
    try {
      croner(pattern, { timezone: 'UTC' });
    } catch (error) {
      throw new ScheduleExpressionError(`${expr}: ${(error as Error).message}`);
    }
    return { kind: 'cron', text: expr, fields: (cron[1] as string).trim().split(/\s+/), pattern };
  }
  const rate = /^rate\((\d+)\s+([a-z]+)\)$/.exec(expr);
  if (rate) {
    const value = Number(rate[1]);
    const unit = RATE_UNITS[rate[2] as string];
    if (!unit) throw new ScheduleExpressionError(`${expr}: the unit must be minute(s), hour(s) or day(s)`);
    if (!isPositiveInteger(value)) {
      throw new ScheduleExpressionError(`${expr}: the value must be a positive integer`);
    }
    const plural = (rate[2] as string).endsWith('s');
    if (value === 1 && plural) throw new ScheduleExpressionError(`${expr}: use the singular unit for 1`);
    if (value > 1 && !plural)
      throw new ScheduleExpressionError(`${expr}: use the plural unit for values above 1`);
    return { kind: 'rate', text: expr, value, unit: unit.unit, periodMs: value * unit.ms };
  }
  const at = /^at\((.*)\)$/.exec(expr);
  if (at) {
    const local = (at[1] as string).trim();
    const parts = LOCAL_DATE_TIME.exec(local);
    const valid =
      parts !== null &&
      (() => {
        const [y, mo, d, h, mi, s] = parts.slice(1).map(Number) as number[];
        const date = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
        return (
          date.getUTCFullYear() === y &&
          date.getUTCMonth() === (mo as number) - 1 &&
          date.getUTCDate() === d &&
          (h as number) < 24 &&
          (mi as number) < 60 &&
          (s as number) < 60
        );
      })();
    if (!valid) {
      throw new ScheduleExpressionError(
        `${expr}: a one-time expression is at(yyyy-mm-ddThh:mm:ss), a real date and time`,
      );
    }
    return { kind: 'at', text: expr, local };
  }
  throw new ScheduleExpressionError(
    `"${expr}" is not a schedule expression: cron(min hour dom month dow year), rate(n unit) or at(yyyy-mm-ddThh:mm:ss)`,
  );
}

/** The wall-clock time of an instant in a time zone, to the second: `2026-03-29 03:00:00`. */
function wallClock(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
}

/** The second pass through a wall-clock time that fall-back repeats (DST shifts are ≤ 2 h). */
function isRepeatedWallClock(ms: number, timezone: string): boolean {
  const wall = wallClock(ms, timezone);
  return [30, 60, 120].some((minutes) => wallClock(ms - minutes * 60_000, timezone) === wall);
}

function inBounds(ms: number, bounds: OccurrenceBounds): boolean {
  return (
    (bounds.startDate === undefined || ms >= bounds.startDate) &&
    (bounds.endDate === undefined || ms < bounds.endDate)
  );
}

/** Safety net: a pattern whose matches croner keeps moving out of a gap never loops forever. */
const MAX_CANDIDATES = 10_000;

/**
 * The next `count` occurrence times (epoch ms, ascending) strictly after `afterMs` and, when given,
 * at or before `untilMs`, within the schedule's start / end dates.
 */
export function occurrencesAfter(
  expression: ScheduleExpression,
  bounds: OccurrenceBounds,
  afterMs: number,
  count: number,
  untilMs = Number.POSITIVE_INFINITY,
): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  if (expression.kind === 'rate') {
    const anchor = bounds.startDate ?? bounds.createdAt;
    if (anchor === undefined) return out;
    let k = afterMs < anchor ? 0 : Math.floor((afterMs - anchor) / expression.periodMs) + 1;
    for (;;) {
      const t = anchor + k * expression.periodMs;
      if (t > untilMs || (bounds.endDate !== undefined && t >= bounds.endDate) || out.length >= count) break;
      out.push(t);
      k += 1;
    }
    return out;
  }
  if (expression.kind === 'at') {
    const t = croner(expression.local, { timezone: bounds.timezone }).getOnce()?.getTime();
    if (t !== undefined && t > afterMs && t <= untilMs) out.push(t);
    return out;
  }
  const job = croner(expression.pattern, bounds);
  let cursor = new Date(afterMs);
  for (let i = 0; i < MAX_CANDIDATES && out.length < count; i += 1) {
    const next = job.nextRun(cursor);
    if (!next) break;
    const t = next.getTime();
    if (t > untilMs) break;
    cursor = next;
    if (t <= afterMs || !inBounds(t, bounds)) continue;
    if (!job.match(next) || isRepeatedWallClock(t, bounds.timezone)) continue;
    out.push(t);
  }
  return out;
}

/** The last `count` occurrence times (epoch ms, most recent first) at or before `beforeMs`. */
export function occurrencesBefore(
  expression: ScheduleExpression,
  bounds: OccurrenceBounds,
  beforeMs: number,
  count: number,
): number[] {
  const out: number[] = [];
  if (count <= 0) return out;
  if (expression.kind === 'rate') {
    const anchor = bounds.startDate ?? bounds.createdAt;
    if (anchor === undefined || beforeMs < anchor) return out;
    let k = Math.floor((beforeMs - anchor) / expression.periodMs);
    for (; k >= 0 && out.length < count; k -= 1) {
      const t = anchor + k * expression.periodMs;
      if (inBounds(t, bounds)) out.push(t);
    }
    return out;
  }
  if (expression.kind === 'at') {
    const t = croner(expression.local, { timezone: bounds.timezone }).getOnce()?.getTime();
    if (t !== undefined && t <= beforeMs) out.push(t);
    return out;
  }
  const job = croner(expression.pattern, { timezone: bounds.timezone });
  let cursor = new Date(beforeMs + 1000);
  for (let i = 0; i < MAX_CANDIDATES && out.length < count; i += 1) {
    const [previous] = job.previousRuns(1, cursor);
    if (!previous) break;
    const t = previous.getTime();
    if (t >= cursor.getTime()) break;
    cursor = previous;
    if (bounds.startDate !== undefined && t < bounds.startDate) break;
    if (t > beforeMs || !inBounds(t, bounds)) continue;
    if (!job.match(previous) || isRepeatedWallClock(t, bounds.timezone)) continue;
    out.push(t);
  }
  return out;
}

/** An instant as EventBridge Scheduler writes `<aws.scheduler.scheduled-time>`: `2022-03-22T18:59:43Z`. */
export function formatScheduledTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * An instant in a time zone, for people, the same way for every zone: the zone's abbreviation where
 * one is in use (`CEST`, `EST`, `GMT`) and always the offset from UTC:
 * `Mon 2026-03-30 09:00 CEST (UTC+02:00)`, `Mon 2027-01-04 03:00 EST (UTC-05:00)`,
 * `Mon 2027-01-04 17:00 UTC+09:00` (Asia/Tokyo: no abbreviation in English), `… 08:00 UTC`.
 * (Intl's short names depend on the locale: en-GB names Europe's zones but gives `GMT-5` for New
 * York, en-US the reverse; the first of the two that is a name is used.)
 */
export function formatInTimeZone(ms: number, timezone: string): string {
  const date = new Date(ms);
  const parts = zoneFormat(timezone, 'en-GB', 'longOffset').formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace(/^GMT$/, 'GMT+00:00').replace(/^GMT/, 'UTC');
  const name = ['en-US', 'en-GB']
    .map((locale) =>
      zoneFormat(timezone, locale, 'short')
        .formatToParts(date)
        .find((p) => p.type === 'timeZoneName'),
    )
    .map((part) => part?.value ?? '')
    .find((value) => /^[A-Z]{2,5}$/.test(value));
  const zone = name === undefined ? offset : name === 'UTC' ? 'UTC' : `${name} (${offset})`;
  return `${get('weekday')} ${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${zone}`;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(
  timezone: string,
  locale: string,
  timeZoneName: 'short' | 'longOffset',
): Intl.DateTimeFormat {
  const key = `${timezone}\0${locale}\0${timeZoneName}`;
  let format = zoneFormats.get(key);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName,
    });
    zoneFormats.set(key, format);
  }
  return format;
}
