/**
 * Commander parsers for option and argument values (command-line input is a boundary): one of each,
 * shared by every command. Each throws commander's InvalidArgumentError, which commander reports as
 * a usage error naming the option.
 */
import { InvalidArgumentError } from 'commander';
import { isNonNegativeInteger, isPositiveInteger, isPositiveNumber } from '#lib/guards.ts';

/** A whole number ≥ 1. */
export function positiveInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isPositiveInteger(n))
    throw new InvalidArgumentError('expected a whole number ≥ 1.');
  return n;
}

/** A whole number ≥ 0 (a version: 0 means "must not exist yet"). */
export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isNonNegativeInteger(n)) {
    throw new InvalidArgumentError('expected a non-negative integer.');
  }
  return n;
}

/** A parser of whole numbers from `min` to `max`. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number, ${min}..${max}.`);
    }
    return n;
  };
}

/** A rate > 0 (messages per second). */
export function positiveRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isPositiveNumber(n))
    throw new InvalidArgumentError('expected messages per second > 0.');
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `90`, `90s`, `30m`, `2h`, `3d` → seconds. */
export function duration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 2h or 3d.');
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

/** Folds repeated `--attr key=value` options into a record. */
export function collectAttr(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value.');
  const key = value.slice(0, at);
  if (Object.hasOwn(previous, key)) throw new InvalidArgumentError(`attribute "${key}" is given twice.`);
  return { ...previous, [key]: value.slice(at + 1) };
}
