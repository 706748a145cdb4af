/**
 * `task-ingest tasks ...`: what became of the tasks ingest created.
 *
 *   tasks show <contactId> [--instance-id I] [--json]
 *   tasks show --source S --key K [--instance-id I] [--json]
 *
 * One task (cli/commands/tasks/report.ts) with its timeline (cli/commands/tasks/timeline.ts), found by ContactId through the ledger's contact index, or
 * by `taskClientToken(instance, source, key)`. Without --instance-id the stage's instances are tried
 * in turn (CONNECT_INSTANCE_IDS, or the sandbox's serverless.yml value). A task the ledger does not
 * know: exit 1, as other "not found" cases.
 */
import type { Command } from 'commander';
import { gather, render } from '#cli/commands/tasks/report.ts';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError } from '#cli/errors.ts';
import { toJson } from '#cli/io.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { StoredLedgerEntry, TaskLifecycle } from '#lib/ledger/port.ts';

interface ShowOptions {
  source?: string;
  key?: string;
  instanceId?: string;
  json?: boolean;
}

export function register(tasks: Command, ctx: CliContext): void {
  tasks
    .command('show')
    .description(
      'print a task: its ledger entry, its timeline (contact events, lifecycle events, outcomes sent) and state, DescribeContact, its references, its transfer plans',
    )
    .argument('[contactId]', 'the task (ContactId); or give --source and --key')
    .option('--source <source>', 'the source of the event that created the task')
    .option('--key <key>', "that event's idempotency key (its rule's idempotencyKey, default its id)")
    .option('--instance-id <instanceId>', "the Connect instance (default: try each of the stage's instances)")
    .option('--json', 'print JSON')
    .action(async (contactId: string | undefined, options: ShowOptions) => {
      const { ledger, ...found } = await findTask(ctx, contactId, options);
      const [dynamo, connect] = await Promise.all([ctx.dynamo(), ctx.connect()]);
      const report = await gather({ dynamo, connect, ledger, transfersTable: ctx.transfersTable() }, found);
      ctx.io.stdout(options.json ? `${toJson(report)}\n` : render(report));
    });
}

/** The ledger entry and lifecycle of the task, in the first of the instances that knows it. */
async function findTask(
  ctx: CliContext,
  contactId: string | undefined,
  options: ShowOptions,
): Promise<{ entry: StoredLedgerEntry; lifecycle: TaskLifecycle; ledger: DynamoLedger }> {
  const bySourceKey = options.source !== undefined || options.key !== undefined;
  if (contactId !== undefined && bySourceKey)
    throw new CliUsageError('give a contactId or --source and --key, not both');
  if (contactId === undefined && (options.source === undefined || options.key === undefined)) {
    throw new CliUsageError('give a contactId, or both --source and --key');
  }
  const known = await ctx.connectInstanceIds();
  const instances = options.instanceId !== undefined ? [options.instanceId] : known ? [...known] : [];
  if (instances.length === 0) {
    throw new CliUsageError(
      "the stage's Connect instances are unknown: pass --instance-id (or set CONNECT_INSTANCE_IDS)",
    );
  }
  const ledger = new DynamoLedger({ client: await ctx.dynamo(), tableName: ctx.ledgerTable() });
  for (const instanceId of instances) {
    const token =
      contactId !== undefined
        ? await ledger.tokenOfContact(instanceId, contactId)
        : taskClientToken(instanceId, options.source as string, options.key as string);
    const found = token === undefined ? undefined : await ledger.lifecycle(token);
    if (found !== undefined) return { entry: found.entry, lifecycle: found.lifecycle, ledger };
  }
  const what =
    contactId !== undefined
      ? `contact ${contactId}`
      : `source ${options.source} and key ${JSON.stringify(options.key)}`;
  throw new CliUserError(
    `the ledger knows no task for ${what} (instance${instances.length === 1 ? '' : 's'} ${instances.join(', ')})`,
  );
}
