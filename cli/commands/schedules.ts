/**
 * `task-ingest schedules ...`: the task schedules declared in serverless.yml (`custom.taskSchedules`).
 *
 *   schedules list [--json]                      what is declared, with each schedule's next occurrence
 *   schedules show <name> [--past N] [--no-tasks] one schedule, its message, and the task each of its
 *                                                last N occurrences made (from the ledger)
 *   schedules next <name> [-n N]                 the next N occurrence times, in its time zone and UTC
 *
 * The declarations are read from serverless.yml the way the sandbox reads them (the same validation
 * as the deploy). "Now" is the sandbox's clock when the endpoint is the sandbox, else the wall clock.
 * `show` reads the rules table and the ledger of the stage (against AWS it needs --stage).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { CliUserError, toJson } from '#cli/context.ts';
import { isPositiveInteger } from '#lib/guards.ts';
import {
  nextOccurrences,
  parseTaskSchedules,
  pastOccurrences,
  scheduleInput,
  type TaskSchedule,
} from '#lib/schedules/declaration.ts';
import { formatInTimeZone, formatScheduledTime } from '#lib/schedules/expression.ts';
import { type OccurrenceTaskLookup, occurrenceTasks } from '#lib/schedules/occurrence-tasks.ts';

export interface ScheduleCommandDeps {
  /** The declared schedules (custom.taskSchedules of serverless.yml, validated). */
  schedules(): TaskSchedule[];
  /** Now, epoch ms (the sandbox clock against the sandbox). */
  now(): Promise<number>;
  /** The rules table and the ledger of the stage. */
  lookup(): OccurrenceTaskLookup;
}

function count(value: string): number {
  const n = Number(value);
  if (!isPositiveInteger(n) || n > 1000) throw new InvalidArgumentError('expected an integer 1-1000.');
  return n;
}

function when(ms: number, schedule: TaskSchedule): string {
  return `${formatInTimeZone(ms, schedule.timezone)}  (${formatScheduledTime(ms)})`;
}

const RATE_NOTE =
  '# rate() without startDate counts from when the schedule was created; the times below count from now';

export function registerScheduleCommands(program: Command, deps: ScheduleCommandDeps): Command {
  const write = (text: string) => {
    const out = program.configureOutput().writeOut;
    if (out) out(text);
    else process.stdout.write(text);
  };
  const find = (name: string): TaskSchedule => {
    const all = deps.schedules();
    const schedule = all.find((s) => s.name === name);
    if (!schedule) {
      throw new CliUserError(`no task schedule "${name}" in serverless.yml`, [
        `declared: ${all.map((s) => s.name).join(', ') || '(none)'}`,
      ]);
    }
    return schedule;
  };
  const createdAt = (schedule: TaskSchedule, nowMs: number) =>
    schedule.expression.kind === 'rate' && schedule.startDate === undefined ? nowMs : undefined;

  const schedules = program
    .command('schedules')
    .description(
      'the task schedules of serverless.yml (EventBridge Scheduler): declarations, occurrences, tasks',
    );

  schedules
    .command('list')
    .description('list the declared task schedules with their next occurrence')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const nowMs = await deps.now();
      const rows = deps.schedules().map((s) => {
        const [next] = nextOccurrences(s, nowMs, 1, createdAt(s, nowMs));
        return { schedule: s, next };
      });
      if (opts.json) {
        write(
          `${toJson(
            rows.map(({ schedule: s, next }) => ({
              name: s.name,
              state: s.state,
              expression: s.expression.text,
              timezone: s.timezone,
              source: s.event.source,
              type: s.event.type,
              next: next === undefined ? null : formatScheduledTime(next),
            })),
          )}\n`,
        );
        return;
      }
      write(`${['name', 'state', 'expression', 'timezone', 'source / type', 'next'].join('\t')}\n`);
      for (const { schedule: s, next } of rows) {
        const nextText =
          s.state !== 'ENABLED' ? '- (disabled)' : next === undefined ? '- (no more)' : when(next, s);
        write(
          `${[s.name, s.state, s.expression.text, s.timezone, `${s.event.source} / ${s.event.type}`, nextText].join('\t')}\n`,
        );
      }
    });

  schedules
    .command('show')
    .description('print one schedule, the message it sends, and the task each of its last occurrences made')
    .argument('<name>', 'the schedule name')
    .option('--past <n>', 'past occurrences to look up (default 5)', count, 5)
    .option('--no-tasks', 'do not read the rules table and the ledger')
    .action(async (name: string, opts: { past: number; tasks: boolean }) => {
      const s = find(name);
      const nowMs = await deps.now();
      const lines = [
        `name:        ${s.name}`,
        ...(s.description ? [`description: ${s.description}`] : []),
        `state:       ${s.state}`,
        `expression:  ${s.expression.text}`,
        `timezone:    ${s.timezone}`,
        `window:      ${s.flexibleWindowMinutes === undefined ? 'off' : `flexible, ${s.flexibleWindowMinutes} min`}`,
        ...(s.startDate === undefined ? [] : [`startDate:   ${new Date(s.startDate).toISOString()}`]),
        ...(s.endDate === undefined ? [] : [`endDate:     ${new Date(s.endDate).toISOString()}`]),
        `event:       ${s.event.source} / ${s.event.type}`,
        `message:     ${scheduleInput(s)}`,
      ];
      const [next] = nextOccurrences(s, nowMs, 1, createdAt(s, nowMs));
      lines.push(`next:        ${next === undefined ? '- (no more occurrences)' : when(next, s)}`);
      write(`${lines.join('\n')}\n`);
      if (!opts.tasks) return;
      if (s.expression.kind === 'rate' && s.startDate === undefined) {
        write('past occurrences: unknown (a rate() schedule without startDate counts from its creation)\n');
        return;
      }
      const past = pastOccurrences(s, nowMs, opts.past);
      write(`past occurrences (last ${opts.past}, most recent first): ${past.length === 0 ? 'none' : ''}\n`);
      const tasks = await occurrenceTasks(s, past, deps.lookup());
      tasks.forEach((t, i) => {
        const at = when(past[i] as number, s);
        if (t.status === 'task') {
          write(
            `  ${at}  task ${t.entry.contactId} (created ${new Date(t.entry.createdAt).toISOString()}, rule ${t.entry.ruleId})\n`,
          );
        } else if (t.status === 'none') {
          write(`  ${at}  no task\n`);
        } else {
          write(`  ${at}  no task: ${t.reason}\n`);
        }
      });
    });

  schedules
    .command('next')
    .description('print the next occurrence times of a schedule, in its time zone and in UTC')
    .argument('<name>', 'the schedule name')
    .option('-n, --count <n>', 'how many (default 5)', count, 5)
    .action(async (name: string, opts: { count: number }) => {
      const s = find(name);
      const nowMs = await deps.now();
      const created = createdAt(s, nowMs);
      if (created !== undefined) write(`${RATE_NOTE}\n`);
      if (s.state !== 'ENABLED') write(`# ${s.name} is ${s.state}: it sends nothing until it is enabled\n`);
      const times = nextOccurrences(s, nowMs, opts.count, created);
      if (times.length === 0) write('no more occurrences\n');
      for (const ms of times) write(`${when(ms, s)}\n`);
    });

  return schedules;
}

/** The schedules of a parsed serverless.yml's `custom` section (validated). */
export function declaredSchedules(custom: Record<string, unknown>): TaskSchedule[] {
  return parseTaskSchedules(custom.taskSchedules);
}
