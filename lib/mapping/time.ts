/**
 * Time inputs of rules: ISO-8601 instants, epoch numbers and ISO-8601 durations.
 *
 * Epoch numbers (or numeric strings) are seconds or milliseconds, decided by magnitude: an absolute
 * value below 1e11 is seconds (1e11 s is the year 5138), anything at or above is milliseconds
 * (1e11 ms is 1973-03-03). So every realistic timestamp of either unit is read correctly.
 *
 * ISO-8601 instants must carry a zone (`Z` or `±hh:mm` / `±hhmm`) when they carry a time of day, so
 * the result never depends on the host's time zone; a bare date (`2024-05-01`) is midnight UTC.
 * Calendar fields are range-checked (`2024-02-30` is refused, not rolled over into March).
 */
import { DurationError } from './errors.ts';

/** Absolute epoch values below this are seconds; at or above, milliseconds. */
export const EPOCH_MILLIS_THRESHOLD = 1e11;

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?))?$/;
const EPOCH_STRING = /^-?\d+(?:\.\d+)?$/;
const ISO_DURATION =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function epochToMillis(value: number): number | undefined {
  if (!Number.isFinite(value)) return undefined;
  const ms = Math.abs(value) < EPOCH_MILLIS_THRESHOLD ? value * 1000 : value;
  // The ECMAScript Date range: ±8.64e15 ms.
  return Math.abs(ms) <= 8.64e15 ? Math.trunc(ms) : undefined;
}

function isoToMillis(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = frac === undefined ? 0 : Math.trunc(Number(`0.${frac}`) * 1000);
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0..99 to 1900..1999; correct that explicitly.
  const fixed = year < 100 ? new Date(utc).setUTCFullYear(year) : utc;
  return fixed - offsetMinutes * 60_000;
}

/**
 * Reads a time given as an ISO-8601 instant, an epoch number or a numeric string.
 * Output: epoch milliseconds, or undefined when the value is none of those.
 */
export function parseTimeInput(value: unknown): number | undefined {
  if (typeof value === 'number') return epochToMillis(value);
  if (typeof value !== 'string') return undefined;
  if (EPOCH_STRING.test(value)) return epochToMillis(Number(value));
  return isoToMillis(value);
}

/**
 * Adds an ISO-8601 duration (`PT2H`, `P1DT30M`, `P2W`, `P1M`) to an instant.
 * Years and months are calendar arithmetic in UTC (whole numbers only); weeks, days, hours, minutes
 * and seconds are fixed lengths (a day is 24 h) and may be fractional.
 */
export function addIsoDuration(startMs: number, duration: string): number {
  const m = ISO_DURATION.exec(duration);
  if (m === null) throw new DurationError('not an ISO-8601 duration (e.g. PT2H, P1DT30M)');
  const num = (part: string | undefined) => (part === undefined ? 0 : Number(part.replace(',', '.')));
  const [, years, months, weeks, days, hours, minutes, seconds] = m;
  let at = startMs;
  if (years !== undefined || months !== undefined) {
    const date = new Date(startMs);
    date.setUTCMonth(date.getUTCMonth() + num(months) + 12 * num(years));
    at = date.getTime();
  }
  return (
    at +
    Math.round(
      ((num(weeks) * 7 + num(days)) * 86_400 + num(hours) * 3_600 + num(minutes) * 60 + num(seconds)) * 1000,
    )
  );
}
