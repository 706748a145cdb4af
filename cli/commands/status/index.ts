/**
 * `task-ingest status [--minutes N] [--dlq-scan N] [--json]`: one look at the service.
 *
 * - Backlog per lane queue (ApproximateNumberOfMessages / NotVisible / Delayed); a lane queue that
 *   does not exist (yet) is reported as missing.
 * - The DLQ: its counts, and its messages by failure class, read as `dlq list` reads them (held for
 *   the pass, then visible again; at most --dlq-scan messages; 0 reads none).
 * - Per operation (StartTaskContact, TransferContact) the shared budget: ceiling, current budget,
 *   last throttle, fallbacks to the local rate, calls and throttles of the last N minutes, the rate
 *   actually achieved and its share of the budget, per-lane grants and mean waits
 *   (lib/budget/status.ts). No budget item = no calls yet.
 * - The estimated time to drain the lane backlog: backlog ÷ the StartTaskContact rate achieved over
 *   the window, or ÷ the current budget when nothing ran; the output says which.
 * - The service's open tasks per instance of the stage against the active-task quota: the sandbox
 *   Connect emulator's when it answers, else ACTIVE_TASK_QUOTA, else the stage's `activeTaskQuota`
 *   param (cli/commands/status/open-tasks.ts); the output says which.
 *
 * Times are the run's clock: the sandbox's against the sandbox. Read-only apart from the DLQ pass.
 * Exit code 0 whatever the figures say; 1 when AWS cannot be read (other than a missing lane queue,
 * DLQ or budget table), 2 for a usage error.
 */
import type { Command } from 'commander';
import { queuePort } from '#cli/commands/dlq/shared.ts';
import { collectStatus } from '#cli/commands/status/collect.ts';
import { formatStatus } from '#cli/commands/status/format.ts';
import { collectOpenTasks, type OpenTasksStatus, resolveQuota } from '#cli/commands/status/open-tasks.ts';
import type { CliContext } from '#cli/context.ts';
import { toJson } from '#cli/io.ts';
import { integerIn } from '#cli/options.ts';
import { DEFAULT_STATUS_MINUTES, MAX_STATUS_MINUTES } from '#lib/budget/status.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';

export const DEFAULT_STATUS_DLQ_SCAN = 100;
const MAX_STATUS_DLQ_SCAN = 10_000;

export function register(status: Command, ctx: CliContext): void {
  status
    .option(
      '--minutes <n>',
      `window for calls, throttles and the achieved rate (1..${MAX_STATUS_MINUTES})`,
      integerIn(1, MAX_STATUS_MINUTES),
      DEFAULT_STATUS_MINUTES,
    )
    .option(
      '--dlq-scan <n>',
      'read at most this many DLQ messages to count them by class (0: counts only)',
      integerIn(0, MAX_STATUS_DLQ_SCAN),
      DEFAULT_STATUS_DLQ_SCAN,
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { minutes: number; dlqScan: number; json?: boolean }) => {
      const [sqs, port, dynamo, now] = await Promise.all([
        ctx.sqs(),
        queuePort(ctx),
        ctx.dynamo(),
        ctx.clock(),
      ]);
      const { stage } = ctx.settings();
      const report = await collectStatus(
        {
          sqs,
          queuePort: port,
          dynamo,
          budgetTable: ctx.budgetTable(),
          laneQueueUrl: (lane) => ctx.laneQueueUrl(lane),
          dlqUrl: () => ctx.dlqUrl(),
          now,
          openTasks: () => openTasks(ctx),
          ...(stage === undefined ? {} : { stage }),
        },
        { minutes: options.minutes, dlqScan: options.dlqScan },
      );
      ctx.io.stdout(options.json ? `${toJson(report)}\n` : formatStatus(report));
    });
}

/** The stage's open tasks per instance against the quota (the ledger's pending index). */
async function openTasks(ctx: CliContext): Promise<OpenTasksStatus> {
  const table = ctx.ledgerTable();
  const ledger = new DynamoLedger({ client: await ctx.dynamo(), tableName: table });
  return collectOpenTasks({
    ledger,
    table,
    instanceIds: () => ctx.connectInstanceIds(),
    quota: () =>
      resolveQuota({
        sandboxConfig: () => ctx.sandboxGet('config'),
        env: ctx.env.ACTIVE_TASK_QUOTA,
        param: () => ctx.serverlessValue('param:activeTaskQuota'),
        stage: ctx.settings().stage ?? '-',
      }),
  });
}
