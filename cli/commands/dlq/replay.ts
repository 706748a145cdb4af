/**
 * `task-ingest dlq replay [messageId...] [filters] [--dry-run] [--max N] [--rate R] [--scan N] [--json]`:
 * send matching DLQ messages back to the queue of the lane they failed in (the record's `lane`;
 * none: the normal lane, the ingest queue), then delete them from the DLQ. Replays keep the body,
 * the attributes and the failure record, so the ClientToken is the same and a replay never creates
 * a second task. A stage deployed before lanes has no other lane queues: a lane queue that cannot be
 * found is reported per message, and the message stays in the DLQ.
 */
import type { Command } from 'commander';
import { dlqTarget, type FilterOptions, filterOf, withFilters } from '#cli/commands/dlq/shared.ts';
import type { CliContext } from '#cli/context.ts';
import { CliUserError } from '#cli/errors.ts';
import type { CliIo } from '#cli/io.ts';
import { toJson } from '#cli/io.ts';
import { positiveInteger, positiveRate } from '#cli/options.ts';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { type RedriveSummary, runRedrive } from '#lib/redrive/redrive.ts';

interface ReplayOptions extends FilterOptions {
  max?: number;
  scan: number;
  json?: boolean;
  dryRun?: boolean;
  rate?: number;
}

export function registerReplayCommand(dlq: Command, ctx: CliContext): void {
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
  ).action((messageIds: string[], options: ReplayOptions) => replay(ctx, messageIds, options));
}

/** The queue of every lane that can be found (normal: the ingest queue, which must exist). */
async function laneQueueUrls(ctx: CliContext): Promise<Partial<Record<Lane, string>>> {
  const urls: Partial<Record<Lane, string>> = { normal: await ctx.ingestQueueUrl() };
  for (const lane of LANES.filter((l) => l !== 'normal')) {
    const url = await ctx.laneQueueUrl(lane).catch(() => undefined);
    if (url !== undefined) urls[lane] = url;
  }
  return urls;
}

async function replay(ctx: CliContext, messageIds: string[], options: ReplayOptions): Promise<void> {
  const { io } = ctx;
  const target = await dlqTarget(ctx);
  const lanes = await laneQueueUrls(ctx);
  const limiter = options.rate === undefined ? undefined : createRateLimiter({ ratePerSecond: options.rate });
  // With --max the bar counts replays towards it; otherwise messages read towards the DLQ's size.
  const total = options.max ?? (await target.sqs.approximateCount?.(target.dlqUrl).catch(() => undefined));
  const progress = createProgress(io, total, (s) => (options.max === undefined ? s.scanned : s.replayed));
  let summary: RedriveSummary;
  try {
    summary = await runRedrive(
      { ...target, ingestQueueUrl: lanes.normal as string, laneQueueUrls: lanes },
      {
        mode: 'ops-replay',
        filter: filterOf(options, messageIds),
        maxScan: options.scan,
        dryRun: options.dryRun ?? false,
        onProgress: (s) => progress.update(s),
        ...(options.max === undefined ? {} : { max: options.max }),
        ...(limiter ? { pace: () => limiter.acquire() } : {}),
      },
    );
  } finally {
    progress.end();
  }
  printSummary(io, summary, options.json === true);
  if (summary.problems.length > 0) {
    throw new CliUserError(
      `${summary.problems.length} message(s) were not replayed; they are still in the DLQ`,
    );
  }
}

function printSummary(io: CliIo, summary: RedriveSummary, json: boolean): void {
  if (json) {
    io.stdout(`${toJson(summary)}\n`);
    return;
  }
  const verb = summary.dryRun ? 'would replay' : 'replayed';
  for (const a of summary.actions) {
    io.stdout(
      `${verb}  ${a.messageId}  ${a.class ?? '-'}  ${a.code ?? '-'}  source=${a.source ?? '-'}  lane=${a.lane ?? 'normal'}\n`,
    );
  }
  for (const problem of summary.problems) io.stdout(`problem  ${problem.messageId}  ${problem.problem}\n`);
  io.stdout(
    `${verb} ${summary.replayed}, skipped ${summary.skipped}, problems ${summary.problems.length}` +
      ` (scanned ${summary.scanned}, stopped: ${summary.stoppedBy})\n`,
  );
}

/**
 * Progress on stderr for long replays: a bar redrawn in place on a terminal, a line every 25
 * messages otherwise. The total is `--max`, else the DLQ's approximate size, else unknown.
 */
function createProgress(
  io: CliIo,
  total: number | undefined,
  done: (summary: Readonly<RedriveSummary>) => number,
) {
  let lastLine = 0;
  let drawn = false;
  return {
    update(summary: Readonly<RedriveSummary>) {
      const counts = `scanned ${summary.scanned}, replayed ${summary.replayed}, problems ${summary.problems.length}`;
      if (io.interactive) {
        const width = 30;
        const ratio = total ? Math.min(1, done(summary) / total) : 0;
        const bar = total ? `[${'#'.repeat(Math.round(ratio * width)).padEnd(width, '.')}] ` : '';
        io.stderr(`\r${bar}${counts}`);
        drawn = true;
      } else if (summary.scanned - lastLine >= 25) {
        lastLine = summary.scanned;
        io.stderr(`${counts}${total ? ` (of about ${total})` : ''}\n`);
      }
    },
    end() {
      if (drawn) io.stderr('\n');
    },
  };
}
