/**
 * One task ingest created, from every place that knows something about it (`task-ingest tasks show`):
 * its ledger entry, its timeline and state from the ledger (contact facts, lifecycle events, outcomes
 * sent, effects pending: cli/commands/tasks/timeline.ts), DescribeContact, ListContactReferences
 * (every page, every reference type of the API model), its transfer plans (the transfers table) and
 * the lifecycle events applied to it. A read that fails does not hide the rest: its error is shown in
 * place of its section.
 */
import {
  type ConnectClient,
  type Contact,
  DescribeContactCommand,
  ListContactReferencesCommand,
  type ReferenceSummary,
} from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { buildTimeline, renderTimeline, type TaskTimeline } from '#cli/commands/tasks/timeline.ts';
import { allPlans } from '#cli/commands/transfers.ts';
import { describeError } from '#cli/errors.ts';
import { iso } from '#cli/format.ts';
import { REFERENCE_TYPES } from '#lib/connect/constraints.ts';
import type { OutboxLedger, ProgressLedger, StoredLedgerEntry, TaskLifecycle } from '#lib/ledger/port.ts';
import { DynamoTransferStore } from '#lib/transfers/store/dynamo-store.ts';
import type { TransferItem } from '#lib/transfers/store/port.ts';

/** Where the report reads: the clients, the ledger and the stage's transfers table. */
export interface TaskReportDeps {
  dynamo: DynamoDBClient;
  ledger: Pick<ProgressLedger, 'progress'> & Pick<OutboxLedger, 'pendingEffects'>;
  connect: ConnectClient;
  transfersTable: string;
}

interface TaskReference {
  type: string;
  name?: string;
  value?: string;
  status?: string;
}

export interface TaskReport {
  entry: StoredLedgerEntry;
  /** The lifecycle events applied to the task (ledger). */
  lifecycle: TaskLifecycle;
  /** The timeline and state now, from the ledger. */
  progress: TaskTimeline | { error: string };
  contact: Contact | { error: string };
  references: TaskReference[] | { error: string };
  transfers: { count: number; plans: TransferItem[] };
}

/** Gathers the report of a task the ledger knows (the Connect and DynamoDB reads run in parallel). */
export async function gather(
  d: TaskReportDeps,
  found: { entry: StoredLedgerEntry; lifecycle: TaskLifecycle },
): Promise<TaskReport> {
  const { entry } = found;
  const ids = { InstanceId: entry.instanceId, ContactId: entry.contactId };
  const transfers = new DynamoTransferStore({ client: d.dynamo, tableName: d.transfersTable });
  const [progress, contact, references, plans, count] = await Promise.all([
    timelineOf(d.ledger, found).catch((error: unknown) => ({ error: describeError(error) })),
    d.connect
      .send(new DescribeContactCommand(ids))
      .then((out) => out.Contact ?? { error: 'DescribeContact returned no contact' })
      .catch((error: unknown) => ({ error: describeError(error) })),
    listReferences(d.connect, ids).catch((error: unknown) => ({ error: describeError(error) })),
    allPlans(transfers, entry.contactId),
    transfers.countTransfers(entry.contactId),
  ]);
  return { entry, lifecycle: found.lifecycle, progress, contact, references, transfers: { count, plans } };
}

async function timelineOf(
  ledger: TaskReportDeps['ledger'],
  found: { entry: StoredLedgerEntry; lifecycle: TaskLifecycle },
): Promise<TaskTimeline> {
  const token = found.entry.clientToken;
  const [progress, pending] = await Promise.all([ledger.progress(token), ledger.pendingEffects(token)]);
  if (progress === undefined) throw new Error(`the ledger entry ${token} is gone`);
  return buildTimeline(progress, found.lifecycle, pending);
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

function date(value: Date | undefined): string {
  return value instanceof Date ? value.toISOString() : '-';
}

function rows(pairs: ReadonlyArray<[string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `  ${k.padEnd(width)}  ${v}\n`).join('');
}

/** The human output. */
export function render(report: TaskReport): string {
  const { entry, lifecycle, progress, contact, references, transfers } = report;
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

  text += 'error' in progress ? `\ntimeline\n  error: ${progress.error}\n` : renderTimeline(progress);

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
