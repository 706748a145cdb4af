/**
 * `task-ingest dlq ...`: inspect and replay the dead-letter queue.
 *
 *   dlq list   [filters] [--max N] [--scan N] [--json]        one line per message: ids, class, code, age
 *   dlq show   <messageId> [--scan N] [--json]               the failure record, original attributes and body
 *   dlq replay [messageId...] [filters] [--dry-run] [--max N] [--rate R] [--scan N] [--json]
 *                                                            send matching messages back to their lane's queue
 *                                                            (cli/commands/dlq/replay.ts)
 *   dlq delete [messageId...] [filters] [--dry-run] [--max N] [--scan N]
 *
 * Filters: --source, --class, --code, --older-than (age of the first failure: 90s, 30m, 2h, 3d), --rule.
 * A message id matches the current SQS message id or the id of the first failed delivery. Ages and
 * --older-than count on the run's clock: the sandbox's against the sandbox.
 *
 * SQS cannot peek: reading hides a message for a short while. Every command makes the messages it
 * did not change visible again when it ends (see lib/redrive/dlq-ops.ts). Exit code 1 when some
 * message could not be replayed or deleted.
 */
import type { Command } from 'commander';
import { registerReplayCommand } from '#cli/commands/dlq/replay.ts';
import type { FilterOptions } from '#cli/commands/dlq/shared.ts';
import { dlqTarget, entryLine, filterOf, withFilters, withScan } from '#cli/commands/dlq/shared.ts';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError } from '#cli/errors.ts';
import { toJson } from '#cli/io.ts';
import { positiveInteger } from '#cli/options.ts';
import { deleteDlqMessages, listDlq, showDlqMessage } from '#lib/redrive/dlq-ops.ts';

interface ListOptions extends FilterOptions {
  max?: number;
  scan: number;
  json?: boolean;
  dryRun?: boolean;
}

export function register(dlq: Command, ctx: CliContext): void {
  const { io } = ctx;
  withFilters(
    dlq
      .command('list')
      .description('list DLQ messages (failure record, no contents); messages stay in the DLQ')
      .option('--max <n>', 'list at most this many', positiveInteger)
      .option('--json', 'print the entries as JSON'),
  ).action(async (options: ListOptions) => {
    const target = await dlqTarget(ctx);
    const { entries, scanned } = await listDlq(target, {
      filter: filterOf(options),
      maxScan: options.scan,
      ...(options.max === undefined ? {} : { max: options.max }),
    });
    if (options.json) {
      io.stdout(`${toJson(entries)}\n`);
      return;
    }
    for (const entry of entries) io.stdout(`${entryLine(entry, target.now())}\n`);
    io.stdout(`${entries.length} message(s) listed (scanned ${scanned})\n`);
  });

  withScan(
    dlq
      .command('show')
      .description('print one message: failure record, original attributes and original body')
      .argument('<messageId>', 'SQS message id, or the id of the first failed delivery')
      .option('--json', 'print it as JSON'),
  ).action((messageId: string, options: { scan: number; json?: boolean }) => show(ctx, messageId, options));

  registerReplayCommand(dlq, ctx);

  withFilters(
    dlq
      .command('delete')
      .description('delete DLQ messages by id and/or filter (a filter is required)')
      .argument('[messageIds...]', 'the messages to delete')
      .option('--dry-run', 'change nothing; print what would be deleted')
      .option('--max <n>', 'delete at most this many', positiveInteger),
  ).action((messageIds: string[], options: ListOptions) => remove(ctx, messageIds, options));
}

async function show(
  ctx: CliContext,
  messageId: string,
  options: { scan: number; json?: boolean },
): Promise<void> {
  const { io } = ctx;
  const shown = await showDlqMessage(await dlqTarget(ctx), messageId, { maxScan: options.scan });
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
    const { failure, problem, body } = shown;
    io.stdout(`${toJson({ messageId: shown.messageId, failure, problem, attributes, body })}\n`);
    return;
  }
  io.stdout(`MessageId: ${shown.messageId}\n`);
  if (shown.problem !== undefined) io.stdout(`Problem: ${shown.problem}\n`);
  io.stdout(`Failure record:\n${toJson(shown.failure ?? null)}\n`);
  io.stdout(`Attributes (${Object.keys(attributes).length}):\n${toJson(attributes)}\n`);
  io.stdout(`Body (${shown.bodyBytes} bytes):\n${shown.body}\n`);
}

async function remove(ctx: CliContext, messageIds: string[], options: ListOptions): Promise<void> {
  const { io } = ctx;
  const filter = filterOf(options, messageIds);
  if (Object.keys(filter).length === 0) {
    throw new CliUsageError(
      'dlq delete needs message ids or a filter (--source, --class, --code, --older-than, --rule)',
    );
  }
  const target = await dlqTarget(ctx);
  const result = await deleteDlqMessages(target, {
    filter,
    maxScan: options.scan,
    dryRun: options.dryRun ?? false,
    ...(options.max === undefined ? {} : { max: options.max }),
  });
  const verb = options.dryRun ? 'would delete' : 'deleted';
  for (const entry of result.deleted) io.stdout(`${verb}  ${entryLine(entry, target.now())}\n`);
  for (const problem of result.problems) io.stdout(`problem  ${problem.messageId}  ${problem.problem}\n`);
  io.stdout(`${verb} ${result.deleted.length} message(s) (scanned ${result.scanned})\n`);
  if (result.problems.length > 0)
    throw new CliUserError(`${result.problems.length} message(s) could not be deleted`);
}
