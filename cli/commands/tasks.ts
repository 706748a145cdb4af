/**
 * `task-ingest tasks ...`: what became of the tasks ingest created.
 *
 *   tasks show <contactId> [--instance-id I] [--json]
 *   tasks show --source S --key K [--instance-id I] [--json]
 *
 * One task, from every place that knows something about it: its ledger entry (found by ContactId
 * through the ledger's contact index, or by `taskClientToken(instance, source, key)`), DescribeContact,
 * ListContactReferences (every page, every reference type of the API model), its transfer plans (the
 * transfers table) and the lifecycle events applied to it (the ledger: last update, completion, lease).
 *
 * Without --instance-id the stage's instances are tried in turn (CONNECT_INSTANCE_IDS, or the sandbox's
 * serverless.yml value). A task the ledger does not know: exit 1, as other "not found" cases.
 * A Connect call that fails does not hide the rest: its error is shown in place of its section.
 */
import {
  type ConnectClient,
  type Contact,
  DescribeContactCommand,
  ListContactReferencesCommand,
  type ReferenceSummary,
} from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Command } from 'commander';
import { type CliIo, CliUsageError, CliUserError, describeError, toJson } from '#cli/context.ts';
import { REFERENCE_TYPES } from '#lib/connect/constraints.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { DynamoLedger } from '#lib/ledger/dynamo-ledger.ts';
import type { StoredLedgerEntry, TaskLifecycle } from '#lib/ledger/port.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import type { TransferItem } from '#lib/transfers/store/port.ts';

export interface TaskCommandDeps {
  dynamo: DynamoDBClient;
  connect: ConnectClient;
  ledgerTable: string;
  transfersTable: string;
  /** The stage's Connect instances, when known. */
  instanceIds: readonly string[] | undefined;
}

export interface TaskReference {
  type: string;
  name?: string;
  value?: string;
  status?: string;
}

export interface TaskReport {
  entry: StoredLedgerEntry;
  /** The lifecycle events applied to the task (ledger). */
  lifecycle: TaskLifecycle;
  contact: Contact | { error: string };
  references: TaskReference[] | { error: string };
  transfers: { count: number; plans: TransferItem[] };
}

interface ShowOptions {
  source?: string;
  key?: string;
  instanceId?: string;
  json?: boolean;
}

export function registerTaskCommands(program: Command, io: CliIo, deps: () => TaskCommandDeps): Command {
  const tasks = program.command('tasks').description('inspect the tasks ingest created');

  tasks
    .command('show')
    .description(
      'print a task: its ledger entry, DescribeContact, its references, its transfer plans and the events applied to it',
    )
    .argument('[contactId]', 'the task (ContactId); or give --source and --key')
    .option('--source <source>', 'the source of the event that created the task')
    .option('--key <key>', "that event's idempotency key (its rule's idempotencyKey, default its id)")
    .option('--instance-id <instanceId>', "the Connect instance (default: try each of the stage's instances)")
    .option('--json', 'print JSON')
    .action(async (contactId: string | undefined, options: ShowOptions) => {
      const bySourceKey = options.source !== undefined || options.key !== undefined;
      if (contactId !== undefined && bySourceKey) {
        throw new CliUsageError('give a contactId or --source and --key, not both');
      }
      if (contactId === undefined && (options.source === undefined || options.key === undefined)) {
        throw new CliUsageError('give a contactId, or both --source and --key');
      }
      const d = deps();
      const instances =
        options.instanceId !== undefined ? [options.instanceId] : d.instanceIds ? [...d.instanceIds] : [];
      if (instances.length === 0) {
        throw new CliUsageError(
          "the stage's Connect instances are unknown: pass --instance-id (or set CONNECT_INSTANCE_IDS)",
        );
      }
      const ledger = new DynamoLedger({ client: d.dynamo, tableName: d.ledgerTable });
      let found: { entry: StoredLedgerEntry; lifecycle: TaskLifecycle } | undefined;
      for (const instanceId of instances) {
        const token =
          contactId !== undefined
            ? await ledger.tokenOfContact(instanceId, contactId)
            : taskClientToken(instanceId, options.source as string, options.key as string);
        found = token === undefined ? undefined : await ledger.lifecycle(token);
        if (found !== undefined) break;
      }
      if (found === undefined) {
        const what =
          contactId !== undefined
            ? `contact ${contactId}`
            : `source ${options.source} and key ${JSON.stringify(options.key)}`;
        throw new CliUserError(
          `the ledger knows no task for ${what} (instance${instances.length === 1 ? '' : 's'} ${instances.join(', ')})`,
        );
      }
      const report = await gather(d, found);
      io.stdout(options.json ? `${toJson(report)}\n` : render(report));
    });

  return tasks;
}

async function gather(
  d: TaskCommandDeps,
  found: { entry: StoredLedgerEntry; lifecycle: TaskLifecycle },
): Promise<TaskReport> {
  const { entry } = found;
  const ids = { InstanceId: entry.instanceId, ContactId: entry.contactId };
  const transfers = new DynamoTransferStore({ client: d.dynamo, tableName: d.transfersTable });
  const [contact, references, plans, count] = await Promise.all([
    d.connect
      .send(new DescribeContactCommand(ids))
      .then((out) => out.Contact ?? { error: 'DescribeContact returned no contact' })
      .catch((error: unknown) => ({ error: describeError(error) })),
    listReferences(d.connect, ids).catch((error: unknown) => ({ error: describeError(error) })),
    allPlans(transfers, entry.contactId),
    transfers.countTransfers(entry.contactId),
  ]);
  return { entry, lifecycle: found.lifecycle, contact, references, transfers: { count, plans } };
}

async function listReferences(
  connect: ConnectClient,
  ids: { InstanceId: string; ContactId: string },
): Promise<TaskReference[]> {
  const out: TaskReference[] = [];
  let nextToken: string | undefined;
  do {
    const page = await connect.send(
      new ListContactReferencesCommand({
        ...ids,
        // The six a task can carry: the API model allows at most 6 ReferenceTypes per call, and the SDK's
        // enum has 11 (email-message and contact-analysis types included).
        ReferenceTypes: [...REFERENCE_TYPES],
        ...(nextToken === undefined ? {} : { NextToken: nextToken }),
      }),
    );
    for (const summary of page.ReferenceSummaryList ?? []) out.push(toReference(summary));
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return out;
}

/** `{Url: {Name, Value}}` → `{type: 'URL', name, value}` (the member's name in the API's type spelling). */
function toReference(summary: ReferenceSummary): TaskReference {
  for (const [member, body] of Object.entries(summary)) {
    if (member === '$unknown' || body === undefined || body === null) continue;
    const type = member.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
    const fields = body as { Name?: unknown; Value?: unknown; Status?: unknown; Arn?: unknown };
    return {
      type,
      ...(typeof fields.Name === 'string' ? { name: fields.Name } : {}),
      ...(typeof fields.Value === 'string'
        ? { value: fields.Value }
        : typeof fields.Arn === 'string'
          ? { value: fields.Arn }
          : {}),
      ...(typeof fields.Status === 'string' ? { status: fields.Status } : {}),
    };
  }
  return { type: 'UNKNOWN' };
}

async function allPlans(store: DynamoTransferStore, contactId: string): Promise<TransferItem[]> {
  const plans: TransferItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ contactId, limit: 100, ...(cursor === undefined ? {} : { cursor }) });
    plans.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return plans;
}

function iso(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

function date(value: Date | undefined): string {
  return value instanceof Date ? value.toISOString() : '-';
}

function rows(pairs: ReadonlyArray<[string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
}

/** The human output. */
export function render(report: TaskReport): string {
  const { entry, lifecycle, contact, references, transfers } = report;
  let text = `task ${entry.contactId}\n`;
  text += rows([
    ['instance', entry.instanceId],
    ['source', entry.source],
    ['rule', entry.ruleId],
    ['idempotency key', entry.idempotencyKey],
    ['client token', entry.clientToken],
    ['created', `${iso(entry.createdAt)} by event ${entry.eventId}`],
    ...(entry.previousContactId === undefined
      ? []
      : ([['previous contact', entry.previousContactId]] as Array<[string, string]>)),
    ['ledger expires', iso(entry.expiresAt * 1000)],
  ]);

  text += '\nevents applied\n';
  text += rows([
    ['created', `${iso(entry.createdAt)} event ${entry.eventId}`],
    [
      'last update',
      lifecycle.lastEventAt === undefined
        ? 'none'
        : `${iso(lifecycle.lastEventAt)} event ${lifecycle.lastEventId ?? '?'}`,
    ],
    [
      'completed',
      lifecycle.completedAt === undefined
        ? 'no'
        : `${iso(lifecycle.completedAt)} event ${lifecycle.completedEventId ?? '?'}`,
    ],
    ...(lifecycle.lease === undefined
      ? []
      : ([
          ['being applied', `event ${lifecycle.lease.eventId} (lease until ${iso(lifecycle.lease.until)})`],
        ] as Array<[string, string]>)),
  ]);

  text += '\ncontact (DescribeContact)\n';
  if ('error' in contact) text += `  error: ${contact.error}\n`;
  else
    text += rows([
      ['name', contact.Name ?? '-'],
      ['channel', `${contact.Channel ?? '-'} (${contact.InitiationMethod ?? '-'})`],
      ['initiated', date(contact.InitiationTimestamp)],
      ['last update', date(contact.LastUpdateTimestamp)],
      ['disconnected', date(contact.DisconnectTimestamp)],
      ['queue', contact.QueueInfo?.Id ?? '-'],
      ['agent', contact.AgentInfo?.Id ?? '-'],
    ]);

  if ('error' in references) text += `\nreferences\n  error: ${references.error}\n`;
  else {
    text += `\nreferences (${references.length})\n`;
    for (const ref of references) {
      text += `  ${ref.name ?? '-'}\t${ref.type}\t${ref.value ?? '-'}${ref.status ? `\t${ref.status}` : ''}\n`;
    }
  }

  text += `\ntransfer plans (${transfers.plans.length}; transfers taken: ${transfers.count})\n`;
  for (const plan of transfers.plans) {
    const destination = plan.queueId !== undefined ? `queue:${plan.queueId}` : `user:${plan.userId ?? '?'}`;
    text += `  ${plan.planId}\t${plan.status}\tdue ${iso(plan.dueAt)}\tattempts ${plan.attempts}\t${destination}${plan.reason ? `\t${plan.reason}` : ''}\n`;
  }
  return text;
}
