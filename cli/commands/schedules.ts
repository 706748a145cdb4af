/**
 * `task-ingest schedules ...`: the task schedules declared in serverless.yml (`custom.taskSchedules`).
 *
 *   schedules list [--json]                      what is declared, with each schedule's next occurrence
 *   schedules show <name> [--past N] [--no-tasks] one schedule, its message, and the task each of its
 *                                                last N occurrences made (from the ledger)
 *   schedules next <name> [-n N]                 the next N occurrence times, in its time zone and UTC
 *
 * The declarations are read from serverless.yml the way the sandbox reads them (the same validation
 * as the deploy). "Now" is the sandbox's clock when the endpoint is the sandbox (a sandbox that does
 * not answer is an error, not the wall clock), else this machine's clock.
 * `show` reads the rules table and the ledger of the stage (against AWS it needs --stage).
 */
import type { Command } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUserError, describeError } from '#cli/errors.ts';
import { toJson } from '#cli/io.ts';
import { integerIn } from '#cli/options.ts';
import {
  nextOccurrences,
  parseTaskSchedules,
  pastOccurrences,
  scheduleInput,
  type TaskSchedule,
} from '#lib/schedules/declaration.ts';
import { formatInTimeZone, formatScheduledTime } from '#lib/schedules/expression.ts';
import { occurrenceTasks } from '#lib/schedules/occurrence-tasks.ts';

const count = integerIn(1, 1000);

function when(ms: number, schedule: TaskSchedule): string {
  return `${formatInTimeZone(ms, schedule.timezone)}  (${formatScheduledTime(ms)})`;
}

const RATE_NOTE =
  '# rate() without startDate counts from when the schedule was created; the times below count from now';

/** The declared schedules (custom.taskSchedules of serverless.yml, validated). */
async function declared(ctx: CliContext): Promise<TaskSchedule[]> {
  const value = await ctx.serverlessValue('self:custom.taskSchedules');
  try {
    return parseTaskSchedules(value);
  } catch (error) {
    throw new CliUserError(`serverless.yml: ${describeError(error)}`, [], { cause: error });
  }
}

async function find(ctx: CliContext, name: string): Promise<TaskSchedule> {
  const all = await declared(ctx);
  const schedule = all.find((s) => s.name === name);
  if (!schedule) {
    throw new CliUserError(`no task schedule "${name}" in serverless.yml`, [
      `declared: ${all.map((s) => s.name).join(', ') || '(none)'}`,
    ]);
  }
  return schedule;
}

/** A rate() schedule without startDate counts from its creation: from now, here. */
const createdAt = (schedule: TaskSchedule, nowMs: number) =>
  schedule.expression.kind === 'rate' && schedule.startDate === undefined ? nowMs : undefined;

export function register(schedules: Command, ctx: CliContext): void {
  schedules
    .command('list')
    .description('list the declared task schedules with their next occurrence')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) => list(ctx, opts.json === true));

  schedules
    .command('show')
    .description('print one schedule, the message it sends, and the task each of its last occurrences made')
    .argument('<name>', 'the schedule name')
    .option('--past <n>', 'past occurrences to look up', count, 5)
    .option('--no-tasks', 'do not read the rules table and the ledger')
    .action((name: string, opts: { past: number; tasks: boolean }) => show(ctx, name, opts));

  schedules
    .command('next')
    .description('print the next occurrence times of a schedule, in its time zone and in UTC')
    .argument('<name>', 'the schedule name')
    .option('-n, --count <n>', 'how many', count, 5)
    .action(async (name: string, opts: { count: number }) => {
      const s = await find(ctx, name);
      const nowMs = await ctx.now();
      const created = createdAt(s, nowMs);
      if (created !== undefined) ctx.io.stdout(`${RATE_NOTE}\n`);
      if (s.state !== 'ENABLED')
        ctx.io.stdout(`# ${s.name} is ${s.state}: it sends nothing until it is enabled\n`);
      const times = nextOccurrences(s, nowMs, opts.count, created);
      if (times.length === 0) ctx.io.stdout('no more occurrences\n');
      for (const ms of times) ctx.io.stdout(`${when(ms, s)}\n`);
    });
}

async function list(ctx: CliContext, json: boolean): Promise<void> {
  const nowMs = await ctx.now();
  const rows = (await declared(ctx)).map((s) => ({
    s,
    next: nextOccurrences(s, nowMs, 1, createdAt(s, nowMs))[0],
  }));
  if (json) {
    const items = rows.map(({ s, next }) => ({
      name: s.name,
      state: s.state,
      expression: s.expression.text,
      timezone: s.timezone,
      source: s.event.source,
      type: s.event.type,
      next: next === undefined ? null : formatScheduledTime(next),
    }));
    ctx.io.stdout(`${toJson(items)}\n`);
    return;
  }
  ctx.io.stdout(`${['name', 'state', 'expression', 'timezone', 'source / type', 'next'].join('\t')}\n`);
  for (const { s, next } of rows) {
    const nextText =
      s.state !== 'ENABLED' ? '- (disabled)' : next === undefined ? '- (no more)' : when(next, s);
    const cells = [
      s.name,
      s.state,
      s.expression.text,
      s.timezone,
      `${s.event.source} / ${s.event.type}`,
      nextText,
    ];
    ctx.io.stdout(`${cells.join('\t')}\n`);
  }
}

async function show(ctx: CliContext, name: string, opts: { past: number; tasks: boolean }): Promise<void> {
  const write = (text: string) => ctx.io.stdout(text);
  const s = await find(ctx, name);
  const nowMs = await ctx.now();
  const [next] = nextOccurrences(s, nowMs, 1, createdAt(s, nowMs));
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
    `next:        ${next === undefined ? '- (no more occurrences)' : when(next, s)}`,
  ];
  write(`${lines.join('\n')}\n`);
  if (!opts.tasks) return;
  if (s.expression.kind === 'rate' && s.startDate === undefined) {
    write('past occurrences: unknown (a rate() schedule without startDate counts from its creation)\n');
    return;
  }
  const past = pastOccurrences(s, nowMs, opts.past);
  write(`past occurrences (last ${opts.past}, most recent first): ${past.length === 0 ? 'none' : ''}\n`);
  const tasks = await occurrenceTasks(s, past, await occurrenceLookup(ctx));
  tasks.forEach((t, i) => {
    const at = when(past[i] as number, s);
    if (t.status === 'task') {
      const created = new Date(t.entry.createdAt).toISOString();
      write(`  ${at}  task ${t.entry.contactId} (created ${created}, rule ${t.entry.ruleId})\n`);
    } else write(`  ${at}  no task${t.status === 'none' ? '' : `: ${t.reason}`}\n`);
  });
}

/** The rules table and the ledger of the stage, for the task each occurrence made, on the run's clock. */
async function occurrenceLookup(ctx: CliContext) {
  const { DynamoLedger } = await import('#lib/ledger/dynamo-ledger.ts');
  return {
    ruleStore: await ctx.ruleStore(),
    ledger: new DynamoLedger({ client: await ctx.dynamo(), tableName: ctx.ledgerTable() }),
    now: await ctx.clock(),
  };
}
