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
import * as z from 'zod/mini';
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

/** The placeholder EventBridge Scheduler replaces with the occurrence's scheduled time. */
const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

/** Scheduler's schedule names: letters, digits, `-`, `_`, `.`; 1-64 characters. */
const NAME_PATTERN = /^[0-9A-Za-z_.-]{1,64}$/;
/** Scheduler's Input is at most 8,192 characters (CloudFormation: Target.Input, maximum 8192). */
const MAX_INPUT_LENGTH = 8192;
/** StartDate / EndDate: an ISO-8601 date-time with an explicit zone (`Z` or `+01:00`). */
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const NAME_RULE = 'must be 1-64 letters, digits, "-", "_" or "."';
const EVENT_TEXT_RULE = 'must be a non-empty string of at most 256 characters';
const WINDOW_RULE = 'must be an integer 1-1440 (omit it for no window)';
const DESCRIPTION_RULE = 'must be a string of at most 512 characters';
const zoneRule = (input: unknown) => `"${String(input)}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`;

/** `null` (an empty YAML value) counts as absent, as it always has for these fields. */
function absentAs<T>(fallback: T) {
  return z.transform((value: unknown) => value ?? fallback);
}

function isJson(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

/** StartDate / EndDate as epoch ms (YAML may hand over a `Date`); absent or null: undefined. */
const dateSchema = z.pipe(
  z.unknown(),
  z.transform((value, ctx): number | undefined => {
    if (value === undefined || value === null) return undefined;
    const text = value instanceof Date ? value.toISOString() : value;
    if (typeof text === 'string' && DATE_PATTERN.test(text) && !Number.isNaN(Date.parse(text))) {
      return Date.parse(text);
    }
    ctx.issues.push({
      code: 'custom',
      input: value,
      message: 'must be an ISO-8601 date-time with a zone, e.g. "2027-01-01T00:00:00Z"',
    });
    return z.NEVER;
  }),
);

const eventText = z
  .string({ error: EVENT_TEXT_RULE })
  .check(z.refine((v) => v.trim() !== '' && v.length <= 256, { error: EVENT_TEXT_RULE }));

const taskScheduleEventSchema = z.strictObject(
  {
    source: eventText,
    type: eventText,
    /** Any JSON value; becomes the CloudEvent's `data`. */
    data: z.optional(z.unknown().check(z.refine(isJson, { error: 'must be a JSON value' }))),
  },
  { error: 'must be a mapping with source, type and optional data' },
);

const taskScheduleSchema = z.strictObject(
  {
    name: z.string({ error: NAME_RULE }).check(z.regex(NAME_PATTERN, { error: NAME_RULE })),
    description: z.optional(
      z.string({ error: DESCRIPTION_RULE }).check(z.maxLength(512, { error: DESCRIPTION_RULE })),
    ),
    expression: z.pipe(
      z.unknown(),
      z.transform((value, ctx): ScheduleExpression => {
        try {
          return parseScheduleExpression(value);
        } catch (error) {
          ctx.issues.push({ code: 'custom', input: value, message: (error as Error).message });
          return z.NEVER;
        }
      }),
    ),
    timezone: z.pipe(
      absentAs('UTC'),
      z
        .string({ error: (issue) => zoneRule(issue.input) })
        .check(z.refine(isValidTimeZone, { error: (issue) => zoneRule(issue.input) })),
    ),
    /** Minutes of EventBridge Scheduler's flexible time window (1-1440); absent = OFF. */
    flexibleWindowMinutes: z.optional(
      z
        .number({ error: WINDOW_RULE })
        .check(
          z.int({ error: WINDOW_RULE }),
          z.gte(1, { error: WINDOW_RULE }),
          z.lte(1440, { error: WINDOW_RULE }),
        ),
    ),
    /** Epoch ms; the schedule runs at or after it (recurring schedules only). */
    startDate: z.optional(dateSchema),
    /** Epoch ms; the schedule runs before it (recurring schedules only). */
    endDate: z.optional(dateSchema),
    state: z.pipe(
      absentAs('ENABLED'),
      z.enum(['ENABLED', 'DISABLED'], { error: 'must be ENABLED or DISABLED' }),
    ),
    event: taskScheduleEventSchema,
  },
  { error: 'must be a mapping (name, expression, timezone, event, ...)' },
);
export type TaskSchedule = z.infer<typeof taskScheduleSchema>;

const FIELDS = Object.keys(taskScheduleSchema.shape).join(', ');
const EVENT_FIELDS = Object.keys(taskScheduleEventSchema.shape).join(', ');

/** One line per problem: `path` for the entry itself and its name, `label` (path and name) for the rest. */
function issueLines(issues: readonly z.core.$ZodIssue[], path: string, label: string): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const inEvent = at.length > 0;
      for (const key of issue.keys) {
        lines.push(
          inEvent
            ? `${label}.${at.join('.')}.${key}: unknown field (${EVENT_FIELDS})`
            : `${path}.${key}: unknown field (allowed: ${FIELDS})`,
        );
      }
    } else if (at.length === 0) {
      lines.push(`${path}: ${issue.message}`);
    } else {
      lines.push(`${at[0] === 'name' ? path : label}.${at.join('.')}: ${issue.message}`);
    }
  }
  return lines;
}

/** What no single field says: the dates' order, dates on at(), the size of Scheduler's Input. */
function crossFieldProblems(schedule: TaskSchedule, label: string): string[] {
  const { startDate, endDate, expression } = schedule;
  const problems: string[] = [];
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate) {
    problems.push(`${label}.endDate: must be after startDate`);
  }
  if (expression.kind === 'at' && (startDate !== undefined || endDate !== undefined)) {
    problems.push(`${label}: startDate and endDate apply to cron() and rate() schedules, not to at()`);
  }
  const length = scheduleInput(schedule).length;
  if (problems.length === 0 && length > MAX_INPUT_LENGTH) {
    problems.push(
      `${label}.event: the message is ${length} characters; Scheduler's Input allows ${MAX_INPUT_LENGTH}`,
    );
  }
  return problems;
}

function parseOne(input: unknown, path: string, errors: string[]): TaskSchedule | undefined {
  const name = (input as { name?: unknown } | null)?.name;
  const label = typeof name === 'string' && name !== '' ? `${path} (${name})` : path;
  const parsed = taskScheduleSchema.safeParse(input);
  if (!parsed.success) {
    errors.push(...issueLines(parsed.error.issues, path, label));
    return undefined;
  }
  // A date given as null parses to undefined: leave the key out, as for an absent one.
  const { startDate, endDate, ...rest } = parsed.data;
  const schedule: TaskSchedule = {
    ...rest,
    ...(startDate === undefined ? {} : { startDate }),
    ...(endDate === undefined ? {} : { endDate }),
  };
  const problems = crossFieldProblems(schedule, label);
  errors.push(...problems);
  return problems.length === 0 ? schedule : undefined;
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

function scheduleBounds(schedule: TaskSchedule, createdAt?: number): OccurrenceBounds {
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
