/**
 * `task-ingest dlq ...`: inspect and replay the dead-letter queue.
 *
 *   dlq list   [filters] [--max N] [--scan N] [--json]        one line per message: ids, class, code, age
 *   dlq show   <messageId> [--scan N] [--json]               the failure record, original attributes and body
 *   dlq replay [messageId...] [filters] [--dry-run] [--max N] [--rate R] [--scan N] [--json]
 *                                                            send matching messages back to their lane's queue
 *   dlq delete [messageId...] [filters] [--dry-run] [--max N] [--scan N]
 *
 * Filters: --source, --class, --code, --older-than (age of the first failure: 90s, 30m, 2h, 3d), --rule.
 * A message id matches the current SQS message id or the id of the first failed delivery.
 *
 * SQS cannot peek: reading hides a message for a short while. Every command makes the messages it
 * did not change visible again when it ends (see lib/redrive/dlq-ops.ts). Replays keep the body,
 * the attributes and the failure record, so the ClientToken is the same and a replay never creates
 * a second task. A message goes back to the queue of the lane it failed in (the record's `lane`;
 * none: the normal lane, the ingest queue). Exit code 1 when some message could not be replayed or deleted.
 */

import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { CliUsageError, CliUserError, toJson } from '#cli/context.ts';
import { now } from '#lib/clock.ts';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import { isPositiveInteger, isPositiveNumber } from '#lib/guards.ts';
import type { Lane } from '#lib/lanes.ts';
import { type DlqEntry, deleteDlqMessages, listDlq, showDlqMessage } from '#lib/redrive/dlq-ops.ts';
import type { DlqFilter } from '#lib/redrive/filter.ts';
import { DEFAULT_MAX_SCAN, type RedriveSummary, runRedrive } from '#lib/redrive/redrive.ts';
import { createSqsPort, type SqsPort } from '#lib/redrive/sqs-port.ts';
import type { FailureClass } from '#lib/retry/failure-record.ts';

export interface DlqCommandDeps {
  sqs: SQSClient;
  dlqUrl: string;
  /** The normal lane's queue. */
  ingestQueueUrl: string;
  /** The lane queues that could be found; a replay to a lane without one is reported, not sent. */
  laneQueueUrls?: Partial<Record<Lane, string>>;
}

const CLASSES: FailureClass[] = ['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED'];
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

interface FilterOptions {
  source?: string;
  class?: FailureClass;
  code?: string;
  olderThan?: number;
  rule?: string;
}

interface RunOptions extends FilterOptions {
  max?: number;
  scan: number;
  json?: boolean;
  dryRun?: boolean;
  rate?: number;
}

/** `90`, `90s`, `30m`, `2h`, `3d` → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 90s, 30m, 2h or 3d.');
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!isPositiveInteger(n)) throw new InvalidArgumentError('expected a whole number ≥ 1.');
  return n;
}

function positiveRate(value: string): number {
  const n = Number(value);
  if (!isPositiveNumber(n)) throw new InvalidArgumentError('expected messages per second > 0.');
  return n;
}

function withFilters(command: Command): Command {
  return command
    .option('--source <source>', 'only messages from this upstream source')
    .addOption(new Option('--class <class>', 'only this failure class').choices(CLASSES))
    .option('--code <code>', 'only this failure code (e.g. ServiceQuotaExceededException)')
    .option(
      '--older-than <duration>',
      'only messages whose first failure is older (90s, 30m, 2h, 3d)',
      parseDuration,
    )
    .option('--rule <ruleId>', 'only messages that failed under this rule')
    .option('--scan <n>', 'read at most this many DLQ messages', positiveInteger, DEFAULT_MAX_SCAN);
}

function filterOf(options: FilterOptions, messageIds: string[] = []): DlqFilter {
  const filter: DlqFilter = {};
  if (options.source !== undefined) filter.source = options.source;
  if (options.class !== undefined) filter.class = options.class;
  if (options.code !== undefined) filter.code = options.code;
  if (options.olderThan !== undefined) filter.olderThanSeconds = options.olderThan;
  if (options.rule !== undefined) filter.ruleId = options.rule;
  if (messageIds.length > 0) filter.messageIds = messageIds;
  return filter;
}

/** Where the command writes: the program's configured output (the CLI's io), else the process. */
function outputOf(command: Command): { out: (text: string) => void; err: (text: string) => void } {
  const config = command.configureOutput();
  return {
    out: (text) => (config.writeOut ? config.writeOut(text) : process.stdout.write(text)),
    err: (text) => (config.writeErr ? config.writeErr(text) : process.stderr.write(text)),
  };
}

function age(iso: string | undefined): string {
  if (iso === undefined) return '-';
  const seconds = Math.max(0, Math.floor((now() - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function entryLine(entry: DlqEntry): string {
  const f = entry.failure;
  if (!f) return `${entry.messageId}  PROBLEM  ${entry.problem ?? 'no failure record'}`;
  const next = f.class === 'OVER_QUOTA' && f.nextAttemptAt ? `  next ${f.nextAttemptAt}` : '';
  return [
    entry.messageId,
    f.class,
    f.code,
    `source=${f.source ?? '-'}`,
    `rule=${f.ruleId ?? '-'}`,
    `event=${f.eventId ?? '-'}`,
    `lane=${f.lane ?? 'normal'}`,
    `attempts=${f.attempts}`,
    `redrives=${f.redriveCount}`,
    `age=${age(f.firstFailureAt)}${next}`,
  ].join('  ');
}

/**
 * Progress on stderr for long replays: a bar redrawn in place on a terminal, a line every 25
 * messages otherwise. The total is `--max`, else the DLQ's approximate size, else unknown.
 */
function createProgress(
  err: (text: string) => void,
  total: number | undefined,
  done: (summary: Readonly<RedriveSummary>) => number,
) {
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  let drawn = false;
  return {
    update(summary: Readonly<RedriveSummary>) {
      const counts = `scanned ${summary.scanned}, replayed ${summary.replayed}, problems ${summary.problems.length}`;
      if (tty) {
        const width = 30;
        const ratio = total ? Math.min(1, done(summary) / total) : 0;
        const bar = total ? `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}] ` : '';
        err(`\r${bar}${counts}`);
        drawn = true;
      } else if (summary.scanned - lastLine >= 25) {
        lastLine = summary.scanned;
        err(`${counts}${total ? ` (of about ${total})` : ''}\n`);
      }
    },
    end() {
      if (drawn) err('\n');
    },
  };
}

function summaryLine(summary: RedriveSummary): string {
  const verb = summary.dryRun ? 'would replay' : 'replayed';
  return (
    `${verb} ${summary.replayed}, skipped ${summary.skipped}, problems ${summary.problems.length}` +
    ` (scanned ${summary.scanned}, stopped: ${summary.stoppedBy})\n`
  );
}

export function registerDlqCommands(program: Command, deps: () => DlqCommandDeps): Command {
  const port = (): {
    sqs: SqsPort;
    dlqUrl: string;
    ingestQueueUrl: string;
    laneQueueUrls?: Partial<Record<Lane, string>>;
  } => {
    const d = deps();
    return {
      sqs: createSqsPort(d.sqs),
      dlqUrl: d.dlqUrl,
      ingestQueueUrl: d.ingestQueueUrl,
      ...(d.laneQueueUrls ? { laneQueueUrls: d.laneQueueUrls } : {}),
    };
  };
  const dlq = program.command('dlq').description('inspect, replay and delete dead-letter queue messages');

  withFilters(
    dlq
      .command('list')
      .description('list DLQ messages (failure record, no contents); messages stay in the DLQ')
      .option('--max <n>', 'list at most this many', positiveInteger)
      .option('--json', 'print the entries as JSON'),
  ).action(async (options: RunOptions, command: Command) => {
    const { out } = outputOf(command);
    const { entries, scanned } = await listDlq(port(), {
      filter: filterOf(options),
      maxScan: options.scan,
      ...(options.max === undefined ? {} : { max: options.max }),
    });
    if (options.json) {
      out(`${toJson(entries)}\n`);
      return;
    }
    for (const entry of entries) out(`${entryLine(entry)}\n`);
    out(`${entries.length} message(s) listed (scanned ${scanned})\n`);
  });

  dlq
    .command('show')
    .description('print one message: failure record, original attributes and original body')
    .argument('<messageId>', 'SQS message id, or the id of the first failed delivery')
    .option(
      '--scan <n>',
      'read at most this many DLQ messages looking for it',
      positiveInteger,
      DEFAULT_MAX_SCAN,
    )
    .option('--json', 'print it as JSON')
    .action(async (messageId: string, options: { scan: number; json?: boolean }, command: Command) => {
      const { out } = outputOf(command);
      const shown = await showDlqMessage(port(), messageId, { maxScan: options.scan });
      if (!shown)
        throw new CliUserError(`message ${messageId} not found in the DLQ (scanned up to ${options.scan})`);
      const attributes = Object.fromEntries(
        Object.entries(shown.attributes).map(([name, value]) => [
          name,
          {
            DataType: value.DataType,
            ...(value.StringValue === undefined ? {} : { StringValue: value.StringValue }),
            ...(value.BinaryValue === undefined
              ? {}
              : { BinaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
          },
        ]),
      );
      if (options.json) {
        out(
          `${toJson({ messageId: shown.messageId, failure: shown.failure, problem: shown.problem, attributes, body: shown.body })}\n`,
        );
        return;
      }
      out(`MessageId: ${shown.messageId}\n`);
      if (shown.problem !== undefined) out(`Problem: ${shown.problem}\n`);
      out(`Failure record:\n${toJson(shown.failure ?? null)}\n`);
      out(`Attributes (${Object.keys(attributes).length}):\n${toJson(attributes)}\n`);
      out(`Body (${shown.bodyBytes} bytes):\n${shown.body}\n`);
    });

  withFilters(
    dlq
      .command('replay')
      .description(
        'send matching DLQ messages back to the queue of their lane (any class), then delete them from the DLQ',
      )
      .argument('[messageIds...]', 'only these messages')
      .option('--dry-run', 'change nothing; print what would be replayed')
      .option('--max <n>', 'replay at most this many', positiveInteger)
      .option('--rate <perSecond>', 'replay at most this many messages per second', positiveRate)
      .option('--json', 'print the summary as JSON'),
  ).action(async (messageIds: string[], options: RunOptions, command: Command) => {
    const { out, err } = outputOf(command);
    const target = port();
    const limiter =
      options.rate === undefined ? undefined : createRateLimiter({ ratePerSecond: options.rate });
    // With --max the bar counts replays towards it; otherwise messages read towards the DLQ's size.
    const total = options.max ?? (await target.sqs.approximateCount?.(target.dlqUrl).catch(() => undefined));
    const progress = createProgress(err, total, (s) => (options.max === undefined ? s.scanned : s.replayed));
    let summary: RedriveSummary;
    try {
      summary = await runRedrive(target, {
        mode: 'ops-replay',
        filter: filterOf(options, messageIds),
        maxScan: options.scan,
        dryRun: options.dryRun ?? false,
        onProgress: (s) => progress.update(s),
        ...(options.max === undefined ? {} : { max: options.max }),
        ...(limiter ? { pace: () => limiter.acquire() } : {}),
      });
    } finally {
      progress.end();
    }
    if (options.json) {
      out(`${toJson(summary)}\n`);
    } else {
      const verb = summary.dryRun ? 'would replay' : 'replayed';
      for (const action of summary.actions) {
        out(
          `${verb}  ${action.messageId}  ${action.class ?? '-'}  ${action.code ?? '-'}  source=${action.source ?? '-'}  lane=${action.lane ?? 'normal'}\n`,
        );
      }
      for (const problem of summary.problems) out(`problem  ${problem.messageId}  ${problem.problem}\n`);
      out(summaryLine(summary));
    }
    if (summary.problems.length > 0) {
      throw new CliUserError(
        `${summary.problems.length} message(s) were not replayed; they are still in the DLQ`,
      );
    }
  });

  withFilters(
    dlq
      .command('delete')
      .description('delete DLQ messages by id and/or filter (a filter is required)')
      .argument('[messageIds...]', 'the messages to delete')
      .option('--dry-run', 'change nothing; print what would be deleted')
      .option('--max <n>', 'delete at most this many', positiveInteger),
  ).action(async (messageIds: string[], options: RunOptions, command: Command) => {
    const { out } = outputOf(command);
    const filter = filterOf(options, messageIds);
    if (Object.keys(filter).length === 0) {
      throw new CliUsageError(
        'dlq delete needs message ids or a filter (--source, --class, --code, --older-than, --rule)',
      );
    }
    const result = await deleteDlqMessages(port(), {
      filter,
      maxScan: options.scan,
      dryRun: options.dryRun ?? false,
      ...(options.max === undefined ? {} : { max: options.max }),
    });
    const verb = options.dryRun ? 'would delete' : 'deleted';
    for (const entry of result.deleted) out(`${verb}  ${entryLine(entry)}\n`);
    for (const problem of result.problems) out(`problem  ${problem.messageId}  ${problem.problem}\n`);
    out(`${verb} ${result.deleted.length} message(s) (scanned ${result.scanned})\n`);
    if (result.problems.length > 0) {
      throw new CliUserError(`${result.problems.length} message(s) could not be deleted`);
    }
  });

  return dlq;
}
