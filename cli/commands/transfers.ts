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
 * running it twice with the same arguments schedules one transfer.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliUsageError, CliUserError, toJson } from '#cli/context.ts';
import { now } from '#lib/clock.ts';
import { isPositiveInteger } from '#lib/guards.ts';
import { TransferPlanError } from '#lib/transfers/plan.ts';
import { type AcceptedTransfer, acceptTransferRequest } from '#lib/transfers/request.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import { TRANSFER_STATUSES, type TransferItem, type TransferStore } from '#lib/transfers/store/port.ts';

export interface TransferCommandDeps {
  dynamo: DynamoDBClient;
  transfersTable: string;
}

/** Commander parser of a positive whole number (CLI input is a boundary). */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!isPositiveInteger(n)) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

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

export function registerTransferCommands(program: Command, deps: () => TransferCommandDeps): Command {
  const write = (text: string) => {
    const out = program.configureOutput().writeOut;
    if (out) out(text);
    else process.stdout.write(text);
  };
  let built: TransferStore | undefined;
  const store = (): TransferStore => {
    if (built === undefined) {
      const { dynamo, transfersTable } = deps();
      built = new DynamoTransferStore({ client: dynamo, tableName: transfersTable });
    }
    return built;
  };

  const transfers = program
    .command('transfers')
    .description('inspect and manage scheduled transfers (TransferContact)');

  transfers
    .command('list')
    .description('list transfer plans: by status, by contact, or all (one page)')
    .addOption(new Option('--status <status>', 'only plans in this status').choices([...TRANSFER_STATUSES]))
    .option('--contact <contactId>', 'only plans of this contact')
    .option('--limit <n>', 'plans per page (default 50)', positiveInteger)
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--json', 'print JSON instead of a table')
    .action(
      async (opts: {
        status?: TransferItem['status'];
        contact?: string;
        limit?: number;
        cursor?: string;
        json?: boolean;
      }) => {
        const page = await store().list({
          ...(opts.status !== undefined ? { status: opts.status } : {}),
          ...(opts.contact !== undefined ? { contactId: opts.contact } : {}),
          ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
        });
        if (opts.json) {
          write(`${toJson(page)}\n`);
          return;
        }
        write(`${HEADER}\n`);
        for (const item of page.items) write(`${line(item)}\n`);
        if (page.cursor !== undefined) write(`# more: --cursor ${page.cursor}\n`);
      },
    );

  transfers
    .command('show')
    .description('print one plan, or every plan of a contact and how many transfers it has taken')
    .argument('<contactId>')
    .argument('[planId]')
    .action(async (contactId: string, planId: string | undefined) => {
      if (planId !== undefined) {
        const item = await store().get(contactId, planId);
        if (item === undefined) throw new CliUserError(`no transfer plan ${planId} for contact ${contactId}`);
        write(`${toJson(item)}\n`);
        return;
      }
      const items: TransferItem[] = [];
      let cursor: string | undefined;
      do {
        const page = await store().list({
          contactId,
          limit: 100,
          ...(cursor !== undefined ? { cursor } : {}),
        });
        items.push(...page.items);
        cursor = page.cursor;
      } while (cursor !== undefined);
      if (items.length === 0) throw new CliUserError(`no transfer plans for contact ${contactId}`);
      write(`${toJson({ contactId, transfers: await store().countTransfers(contactId), plans: items })}\n`);
    });

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
    .action(
      async (opts: {
        instance: string;
        contact: string;
        queue?: string;
        user?: string;
        flow: string;
        at?: string;
        requestId?: string;
      }) => {
        if ((opts.queue === undefined) === (opts.user === undefined)) {
          throw new CliUsageError('give exactly one of --queue or --user (TransferContact never takes both)');
        }
        let accepted: AcceptedTransfer;
        try {
          accepted = await acceptTransferRequest(
            { store: store(), now },
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
        write(
          `${toJson({ contactId: item.contactId, planId: item.planId, scheduled, dueAt: iso(item.dueAt) })}\n`,
        );
      },
    );

  transfers
    .command('cancel')
    .description('cancel a plan that has not run (PENDING, or claimed by a sweep that died)')
    .argument('<contactId>')
    .argument('<planId>')
    .action(async (contactId: string, planId: string) => {
      const outcome = await store().cancel(contactId, planId, now());
      if (outcome === 'not-found')
        throw new CliUserError(`no transfer plan ${planId} for contact ${contactId}`);
      if (outcome === 'not-cancellable') {
        const item = await store().get(contactId, planId);
        throw new CliUserError(
          `transfer plan ${planId} is ${item?.status ?? 'gone'}; only a plan that has not run can be cancelled`,
        );
      }
      write(`cancelled ${contactId} ${planId}\n`);
    });

  return transfers;
}
