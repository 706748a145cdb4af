/**
 * `task-ingest transfers ...`: inspect and manage scheduled transfers (the transfers table).
 *
 *   transfers list [--status S] [--contact ID] [--limit N] [--cursor C] [--json]
 *   transfers show <contactId> [planId]     one plan, or every plan of the contact and its count
 *   transfers schedule --instance ID --contact ID (--queue ID | --user ID) --flow ID [--at TIME]
 *                      [--request-id ID]    schedule a transfer; the sweep performs it when due
 *   transfers cancel <contactId> <planId>   cancel a plan that has not run
 *
 * `schedule` goes through the use case that accepts an EventBridge transfer request
 * (`acceptTransferRequest`, lib/transfers/request.ts): the same validation, plan id and storage, so
 * running it twice with the same arguments schedules one transfer. Due times and cancellations count
 * on the run's clock (the sandbox's against the sandbox, where the sweep runs on it).
 */
import { type Command, Option } from 'commander';
import type { CliContext } from '#cli/context.ts';
import { CliUsageError, CliUserError } from '#cli/errors.ts';
import { iso } from '#cli/format.ts';
import { toJson } from '#cli/io.ts';
import { positiveInteger } from '#cli/options.ts';
import { TransferPlanError } from '#lib/transfers/errors.ts';
import { type AcceptedTransfer, acceptTransferRequest } from '#lib/transfers/request.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { TRANSFER_STATUSES, type TransferItem, type TransferStore } from '#lib/transfers/store/port.ts';

function destination(item: TransferItem): string {
  return item.queueId !== undefined ? `queue:${item.queueId}` : `user:${item.userId ?? '?'}`;
}

function line(item: TransferItem): string {
  return [
    item.contactId,
    item.planId,
    item.status,
    iso(item.dueAt),
    String(item.attempts),
    destination(item),
  ].join('\t');
}

const HEADER = ['contactId', 'planId', 'status', 'dueAt', 'attempts', 'destination'].join('\t');

interface ListOptions {
  status?: TransferItem['status'];
  contact?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
}

interface ScheduleOptions {
  instance: string;
  contact: string;
  queue?: string;
  user?: string;
  flow: string;
  at?: string;
  requestId?: string;
}

export function register(transfers: Command, ctx: CliContext): void {
  let built: Promise<TransferStore> | undefined;
  const store = (): Promise<TransferStore> => {
    built ??= ctx
      .dynamo()
      .then((client) => new DynamoTransferStore({ client, tableName: ctx.transfersTable() }));
    return built;
  };

  transfers
    .command('list')
    .description('list transfer plans: by status, by contact, or all (one page)')
    .addOption(new Option('--status <status>', 'only plans in this status').choices([...TRANSFER_STATUSES]))
    .option('--contact <contactId>', 'only plans of this contact')
    .option('--limit <n>', 'plans per page', positiveInteger, 50)
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: ListOptions) => list(ctx, await store(), opts));

  transfers
    .command('show')
    .description('print one plan, or every plan of a contact and how many transfers it has taken')
    .argument('<contactId>')
    .argument('[planId]')
    .action(async (contactId: string, planId: string | undefined) =>
      show(ctx, await store(), contactId, planId),
    );

  transfers
    .command('schedule')
    .description('schedule a transfer of a task contact; the sweep performs it when due')
    .requiredOption('--instance <instanceId>', 'the Connect instance')
    .requiredOption('--contact <contactId>', 'the task contact to transfer')
    .option('--queue <queueId>', 'transfer to this queue')
    .option('--user <userId>', 'transfer to this agent')
    .requiredOption('--flow <contactFlowId>', 'the transfer flow')
    .option('--at <time>', 'when: ISO-8601 with a zone, or epoch seconds/ms (default: now)')
    .option('--request-id <id>', 'makes otherwise identical requests distinct transfers')
    .action(async (opts: ScheduleOptions) => schedule(ctx, await store(), opts));

  transfers
    .command('cancel')
    .description('cancel a plan that has not run (PENDING, or claimed by a sweep that died)')
    .argument('<contactId>')
    .argument('<planId>')
    .action(async (contactId: string, planId: string) => {
      const plans = await store();
      const outcome = await plans.cancel(contactId, planId, await ctx.now());
      if (outcome === 'not-found')
        throw new CliUserError(`no transfer plan ${planId} for contact ${contactId}`);
      if (outcome === 'not-cancellable') {
        const item = await plans.get(contactId, planId);
        throw new CliUserError(
          `transfer plan ${planId} is ${item?.status ?? 'gone'}; only a plan that has not run can be cancelled`,
        );
      }
      ctx.io.stdout(`cancelled ${contactId} ${planId}\n`);
    });
}

async function list(ctx: CliContext, store: TransferStore, opts: ListOptions): Promise<void> {
  const page = await store.list({
    ...(opts.status !== undefined ? { status: opts.status } : {}),
    ...(opts.contact !== undefined ? { contactId: opts.contact } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
  });
  if (opts.json) {
    ctx.io.stdout(`${toJson(page)}\n`);
    return;
  }
  ctx.io.stdout(`${HEADER}\n`);
  for (const item of page.items) ctx.io.stdout(`${line(item)}\n`);
  if (page.cursor !== undefined) ctx.io.stdout(`# more: --cursor ${page.cursor}\n`);
}

async function show(ctx: CliContext, store: TransferStore, contactId: string, planId: string | undefined) {
  if (planId !== undefined) {
    const item = await store.get(contactId, planId);
    if (item === undefined) throw new CliUserError(`no transfer plan ${planId} for contact ${contactId}`);
    ctx.io.stdout(`${toJson(item)}\n`);
    return;
  }
  const items = await allPlans(store, contactId);
  if (items.length === 0) throw new CliUserError(`no transfer plans for contact ${contactId}`);
  ctx.io.stdout(`${toJson({ contactId, transfers: await store.countTransfers(contactId), plans: items })}\n`);
}

/** Every plan of a contact, following the pages to the end. */
export async function allPlans(
  store: Pick<TransferStore, 'list'>,
  contactId: string,
): Promise<TransferItem[]> {
  const items: TransferItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ contactId, limit: 100, ...(cursor !== undefined ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return items;
}

async function schedule(ctx: CliContext, store: TransferStore, opts: ScheduleOptions): Promise<void> {
  if ((opts.queue === undefined) === (opts.user === undefined)) {
    throw new CliUsageError('give exactly one of --queue or --user (TransferContact never takes both)');
  }
  const now = await ctx.clock();
  let accepted: AcceptedTransfer;
  try {
    accepted = await acceptTransferRequest(
      { store, now },
      {
        instanceId: opts.instance,
        contactId: opts.contact,
        contactFlowId: opts.flow,
        ...(opts.queue !== undefined ? { queueId: opts.queue } : {}),
        ...(opts.user !== undefined ? { userId: opts.user } : {}),
        ...(opts.at !== undefined ? { at: opts.at } : {}),
        ...(opts.requestId !== undefined ? { requestId: opts.requestId } : {}),
      },
    );
  } catch (error) {
    if (error instanceof TransferPlanError) throw new CliUserError(error.message, [], { cause: error });
    throw error;
  }
  const { item, scheduled } = accepted;
  ctx.io.stdout(
    `${toJson({ contactId: item.contactId, planId: item.planId, scheduled, dueAt: iso(item.dueAt) })}\n`,
  );
}
