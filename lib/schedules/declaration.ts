/**
 * Task schedules declared as code: `custom.taskSchedules` in serverless.yml.
 *
 * One list, read by the deploy (scripts/task-schedules.cjs → EventBridge Scheduler resources), by
 * the sandbox (its scheduler on the movable clock) and by `task-ingest schedules`. Every entry is
 * validated here, all errors at once, so a bad schedule is refused the same way everywhere.
 *
 * What a schedule sends: a CloudEvent on the ingest queue whose `time` is the occurrence's
 * scheduled time and whose `id` is `<name>@<scheduled time>`. On AWS, Scheduler fills in the time
 * (`<aws.scheduler.scheduled-time>` in the target Input); the sandbox renders the same text with the
 * time it computed. The id, hence the default idempotency key and the ClientToken, depends only on
 * (schedule name, scheduled time): a duplicate delivery, a Scheduler retry or a DLQ replay of one
 * occurrence is the same event, and two occurrences are two events.
 */
import { isObject, isPositiveInteger } from '#lib/guards.ts';
import { occurrenceId } from '#lib/idempotency/ids.ts';
import {
  formatScheduledTime,
  isValidTimeZone,
  type OccurrenceBounds,
  occurrencesAfter,
  occurrencesBefore,
  parseScheduleExpression,
  type ScheduleExpression,
} from '#lib/schedules/expression.ts';
import { TaskScheduleError } from './errors.ts';

export interface TaskScheduleEvent {
  source: string;
  type: string;
  /** Any JSON value; becomes the CloudEvent's `data`. */
  data?: unknown;
}

export interface TaskSchedule {
  name: string;
  description?: string;
  expression: ScheduleExpression;
  timezone: string;
  /** Minutes of EventBridge Scheduler's flexible time window (1-1440); absent = OFF. */
  flexibleWindowMinutes?: number;
  /** Epoch ms; the schedule runs at or after it (recurring schedules only). */
  startDate?: number;
  /** Epoch ms; the schedule runs before it (recurring schedules only). */
  endDate?: number;
  state: 'ENABLED' | 'DISABLED';
  event: TaskScheduleEvent;
}

/** The placeholder EventBridge Scheduler replaces with the occurrence's scheduled time. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

/** Scheduler's schedule names: letters, digits, `-`, `_`, `.`; 1-64 characters. */
const NAME_PATTERN = /^[0-9A-Za-z_.-]{1,64}$/;
/** Scheduler's Input is at most 8,192 characters (CloudFormation: Target.Input, maximum 8192). */
export const MAX_INPUT_LENGTH = 8192;
const FIELDS = new Set([
  'name',
  'description',
  'expression',
  'timezone',
  'flexibleWindowMinutes',
  'startDate',
  'endDate',
  'state',
  'event',
]);

/** An ISO-8601 date-time with an explicit zone (`Z` or `+01:00`), as StartDate / EndDate take. */
function parseDate(value: unknown, path: string, errors: string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = value instanceof Date ? value.toISOString() : value;
  if (
    typeof text !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) ||
    Number.isNaN(Date.parse(text))
  ) {
    errors.push(`${path}: must be an ISO-8601 date-time with a zone, e.g. "2027-01-01T00:00:00Z"`);
    return undefined;
  }
  return Date.parse(text);
}

function parseOne(input: unknown, path: string, errors: string[]): TaskSchedule | undefined {
  if (!isObject(input)) {
    errors.push(`${path}: must be a mapping (name, expression, timezone, event, ...)`);
    return undefined;
  }
  const before = errors.length;
  for (const key of Object.keys(input)) {
    if (!FIELDS.has(key)) errors.push(`${path}.${key}: unknown field (allowed: ${[...FIELDS].join(', ')})`);
  }
  const name = input.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    errors.push(`${path}.name: must be 1-64 letters, digits, "-", "_" or "."`);
  }
  const label = typeof name === 'string' && name !== '' ? `${path} (${name})` : path;
  let expression: ScheduleExpression | undefined;
  try {
    expression = parseScheduleExpression(input.expression);
  } catch (error) {
    errors.push(`${label}.expression: ${(error as Error).message}`);
  }
  const timezone = input.timezone ?? 'UTC';
  if (typeof timezone !== 'string' || !isValidTimeZone(timezone)) {
    errors.push(
      `${label}.timezone: "${String(timezone)}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`,
    );
  }
  const window = input.flexibleWindowMinutes;
  if (window !== undefined && (!isPositiveInteger(window) || window > 1440)) {
    errors.push(`${label}.flexibleWindowMinutes: must be an integer 1-1440 (omit it for no window)`);
  }
  const startDate = parseDate(input.startDate, `${label}.startDate`, errors);
  const endDate = parseDate(input.endDate, `${label}.endDate`, errors);
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    errors.push(`${label}.endDate: must be after startDate`);
  }
  if (expression?.kind === 'at' && (startDate !== undefined || endDate !== undefined)) {
    errors.push(`${label}: startDate and endDate apply to cron() and rate() schedules, not to at()`);
  }
  const state = input.state ?? 'ENABLED';
  if (state !== 'ENABLED' && state !== 'DISABLED') errors.push(`${label}.state: must be ENABLED or DISABLED`);
  if (
    input.description !== undefined &&
    (typeof input.description !== 'string' || input.description.length > 512)
  ) {
    errors.push(`${label}.description: must be a string of at most 512 characters`);
  }
  const event = input.event;
  if (!isObject(event)) {
    errors.push(`${label}.event: must be a mapping with source, type and optional data`);
  } else {
    for (const key of Object.keys(event)) {
      if (!['source', 'type', 'data'].includes(key))
        errors.push(`${label}.event.${key}: unknown field (source, type, data)`);
    }
    for (const key of ['source', 'type'] as const) {
      const value = event[key];
      if (typeof value !== 'string' || value.trim() === '' || value.length > 256) {
        errors.push(`${label}.event.${key}: must be a non-empty string of at most 256 characters`);
      }
    }
    if (event.data !== undefined) {
      let json: string | undefined;
      try {
        json = JSON.stringify(event.data);
      } catch {
        json = undefined;
      }
      if (json === undefined) errors.push(`${label}.event.data: must be a JSON value`);
    }
  }
  if (errors.length > before) return undefined;
  const schedule: TaskSchedule = {
    name: name as string,
    expression: expression as ScheduleExpression,
    timezone: timezone as string,
    state: state as TaskSchedule['state'],
    event: {
      source: (event as Record<string, string>).source as string,
      type: (event as Record<string, string>).type as string,
      ...((event as Record<string, unknown>).data === undefined
        ? {}
        : { data: (event as Record<string, unknown>).data }),
    },
    ...(typeof input.description === 'string' ? { description: input.description } : {}),
    ...(window === undefined ? {} : { flexibleWindowMinutes: window as number }),
    ...(startDate === undefined ? {} : { startDate }),
    ...(endDate === undefined ? {} : { endDate }),
  };
  const length = scheduleInput(schedule).length;
  if (length > MAX_INPUT_LENGTH) {
    errors.push(
      `${label}.event: the message is ${length} characters; Scheduler's Input allows ${MAX_INPUT_LENGTH}`,
    );
    return undefined;
  }
  return schedule;
}

/**
 * Validates `custom.taskSchedules` (absent or null = no schedules).
 *
 * Output: the schedules, in order. Throws TaskScheduleError listing every problem of every entry
 * (expression syntax, time zone, dates, window, state, event shape, duplicate names).
 */
export function parseTaskSchedules(input: unknown, where = 'custom.taskSchedules'): TaskSchedule[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw new TaskScheduleError(where, ['must be a list of schedules']);
  const errors: string[] = [];
  const out: TaskSchedule[] = [];
  const names = new Set<string>();
  const logicalIds = new Map<string, string>();
  input.forEach((entry, i) => {
    const schedule = parseOne(entry, `${where}[${i}]`, errors);
    if (!schedule) return;
    if (names.has(schedule.name)) errors.push(`${where}[${i}].name: "${schedule.name}" is declared twice`);
    const id = scheduleLogicalId(schedule.name);
    const clash = logicalIds.get(id);
    if (clash !== undefined && clash !== schedule.name) {
      errors.push(`${where}[${i}].name: "${schedule.name}" and "${clash}" make the same resource id ${id}`);
    }
    names.add(schedule.name);
    logicalIds.set(id, schedule.name);
    out.push(schedule);
  });
  if (errors.length > 0) throw new TaskScheduleError(where, errors);
  return out;
}

/** The CloudFormation logical id of a schedule: `TaskSchedule` + its name in PascalCase. */
export function scheduleLogicalId(name: string): string {
  const pascal = name
    .split(/[^0-9A-Za-z]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('');
  return `TaskSchedule${pascal}`;
}

/**
 * The message body template: a CloudEvent whose `id` and `time` hold Scheduler's scheduled-time
 * placeholder. This text is the SQS target's Input on AWS.
 */
export function scheduleInput(schedule: TaskSchedule): string {
  return JSON.stringify({
    specversion: '1.0',
    id: occurrenceId(schedule.name, SCHEDULED_TIME_PLACEHOLDER),
    source: schedule.event.source,
    type: schedule.event.type,
    time: SCHEDULED_TIME_PLACEHOLDER,
    datacontenttype: 'application/json',
    ...(schedule.event.data === undefined ? {} : { data: schedule.event.data }),
  });
}

/**
 * The message one occurrence sends, as Scheduler renders it: the Input with every scheduled-time
 * placeholder replaced by `formatScheduledTime(scheduledMs)`.
 */
export function renderOccurrence(schedule: TaskSchedule, scheduledMs: number): string {
  return scheduleInput(schedule).replaceAll(SCHEDULED_TIME_PLACEHOLDER, formatScheduledTime(scheduledMs));
}

export function scheduleBounds(schedule: TaskSchedule, createdAt?: number): OccurrenceBounds {
  return {
    timezone: schedule.timezone,
    ...(schedule.startDate === undefined ? {} : { startDate: schedule.startDate }),
    ...(schedule.endDate === undefined ? {} : { endDate: schedule.endDate }),
    ...(createdAt === undefined ? {} : { createdAt }),
  };
}

/** The next `count` occurrences after `afterMs`, up to `untilMs` when given (see `occurrencesAfter`). */
export function nextOccurrences(
  schedule: TaskSchedule,
  afterMs: number,
  count: number,
  createdAt?: number,
  untilMs?: number,
): number[] {
  return occurrencesAfter(schedule.expression, scheduleBounds(schedule, createdAt), afterMs, count, untilMs);
}

/** The last `count` occurrences at or before `beforeMs`, most recent first. */
export function pastOccurrences(
  schedule: TaskSchedule,
  beforeMs: number,
  count: number,
  createdAt?: number,
): number[] {
  return occurrencesBefore(schedule.expression, scheduleBounds(schedule, createdAt), beforeMs, count);
}
