/** What the dlq commands share: the DLQ port of the run, the filter options, one line per entry. */
import { type Command, Option } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { duration } from '#cli/format.ts';
import { duration as durationOption, positiveInteger } from '#cli/options.ts';
import { isLoopback } from '#cli/settings.ts';
import type { DlqEntry } from '#lib/redrive/dlq-ops.ts';
import type { DlqFilter } from '#lib/redrive/filter.ts';
import { DEFAULT_MAX_SCAN } from '#lib/redrive/redrive.ts';
import { createSqsPort, type SqsPort } from '#lib/redrive/sqs-port.ts';
import type { FailureClass } from '#lib/retry/failure-record.ts';

const CLASSES: FailureClass[] = ['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED'];

export interface FilterOptions {
  source?: string;
  class?: FailureClass;
  code?: string;
  olderThan?: number;
  rule?: string;
}

/** The DLQ of the stage, read through SQS, on the run's clock. */
export interface DlqTarget {
  sqs: SqsPort;
  dlqUrl: string;
  now: () => number;
}

/**
 * The SQS port of the run for passes over a queue. Against the sandbox a receive does not wait for
 * messages: its SQS emulator answers every receive from the whole queue at once, so the last, empty
 * receive of a pass need not long-poll (against SQS it waits 1 s, lib/redrive/scan.ts, to ask every
 * server).
 */
export async function queuePort(ctx: CliContext): Promise<SqsPort> {
  const port = createSqsPort(await ctx.sqs());
  if (!isLoopback(ctx.settings().endpoint)) return port;
  return { ...port, receive: (url, options) => port.receive(url, { ...options, waitTimeSeconds: 0 }) };
}

/** The DLQ of the stage, read through SQS, on the run's clock. */
export async function dlqTarget(ctx: CliContext): Promise<DlqTarget> {
  const [dlqUrl, sqs, now] = await Promise.all([ctx.dlqUrl(), queuePort(ctx), ctx.clock()]);
  return { sqs, dlqUrl, now };
}

/** `--scan <n>`, the most messages a pass reads. */
export function withScan(command: Command): Command {
  return command.option(
    '--scan <n>',
    'read at most this many DLQ messages',
    positiveInteger,
    DEFAULT_MAX_SCAN,
  );
}

export function withFilters(command: Command): Command {
  return withScan(
    command
      .option('--source <source>', 'only messages from this upstream source')
      .addOption(new Option('--class <class>', 'only this failure class').choices(CLASSES))
      .option('--code <code>', 'only this failure code (e.g. ServiceQuotaExceededException)')
      .option(
        '--older-than <duration>',
        'only messages whose first failure is older (90s, 30m, 2h, 3d)',
        durationOption,
      )
      .option('--rule <ruleId>', 'only messages that failed under this rule'),
  );
}

export function filterOf(options: FilterOptions, messageIds: string[] = []): DlqFilter {
  const filter: DlqFilter = {};
  if (options.source !== undefined) filter.source = options.source;
  if (options.class !== undefined) filter.class = options.class;
  if (options.code !== undefined) filter.code = options.code;
  if (options.olderThan !== undefined) filter.olderThanSeconds = options.olderThan;
  if (options.rule !== undefined) filter.ruleId = options.rule;
  if (messageIds.length > 0) filter.messageIds = messageIds;
  return filter;
}

/** One line of `dlq list` / `dlq delete`: ids, class, code, where it failed, its age at `nowMs`. */
export function entryLine(entry: DlqEntry, nowMs: number): string {
  const f = entry.failure;
  if (!f) return `${entry.messageId}  PROBLEM  ${entry.problem ?? 'no failure record'}`;
  const next = f.class === 'OVER_QUOTA' && f.nextAttemptAt ? `  next ${f.nextAttemptAt}` : '';
  const age = f.firstFailureAt === undefined ? '-' : duration((nowMs - Date.parse(f.firstFailureAt)) / 1000);
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
    `age=${age}${next}`,
  ].join('  ');
}
