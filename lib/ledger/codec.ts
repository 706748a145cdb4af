/**
 * The codec between the ledger table's items and the port's types. Stored items are a boundary
 * (written by hand, or by an older version): entries are checked with a schema, and a record that
 * is not one is a `LedgerRecordError` naming the field, never its value.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { LedgerRecordError } from './errors.ts';
import type { LedgerEntry, StoredLedgerEntry, TaskLifecycle } from './port.ts';

// zod/mini (bundled into the Lambda functions) loads no locale: English messages as in classic zod.
z.config(en());

const storedEntrySchema = z.object({
  clientToken: z.string(),
  contactId: z.string(),
  instanceId: z.string(),
  source: z.string(),
  eventId: z.string(),
  idempotencyKey: z.string(),
  ruleId: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  previousContactId: z.optional(z.string()),
}) satisfies z.ZodMiniType<StoredLedgerEntry>;

/** One line naming the fields that are wrong. */
function fieldsOf(error: z.core.$ZodError): string {
  return [...new Set(error.issues.map((issue) => issue.path.join('.') || '(root)'))].join(', ');
}

/** The entry an item holds; the lifecycle and other attributes are left out. */
export function toLedgerEntry(item: Record<string, unknown>): StoredLedgerEntry {
  const parsed = storedEntrySchema.safeParse(item);
  if (!parsed.success) {
    throw new LedgerRecordError(`ledger record has invalid fields: ${fieldsOf(parsed.error)}`);
  }
  const { previousContactId, ...entry } = parsed.data;
  return previousContactId === undefined ? entry : { ...entry, previousContactId };
}

/** The item an entry is stored as: the entry and its expiry, `retentionMs` after its creation. */
export function toLedgerItem(entry: LedgerEntry, retentionMs: number): StoredLedgerEntry {
  return {
    clientToken: entry.clientToken,
    contactId: entry.contactId,
    instanceId: entry.instanceId,
    source: entry.source,
    eventId: entry.eventId,
    idempotencyKey: entry.idempotencyKey,
    ruleId: entry.ruleId,
    createdAt: entry.createdAt,
    expiresAt: expiresAtSeconds(entry.createdAt, retentionMs),
    ...(entry.previousContactId === undefined ? {} : { previousContactId: entry.previousContactId }),
  };
}

/** Epoch seconds `retentionMs` after `at` (DynamoDB TTL). */
export function expiresAtSeconds(at: number, retentionMs: number): number {
  return Math.ceil((at + retentionMs) / 1000);
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The lifecycle fields of an item (`lcRev`, `lastEventAt`, `lastEventId`, `completedAt`,
 * `completedEventId`, `lease*`). Absent or malformed fields read as absent: an entry no lifecycle event
 * has touched is at revision 0.
 */
export function lifecycleOf(item: Record<string, unknown>): TaskLifecycle {
  const out: TaskLifecycle = { rev: num(item.lcRev) ?? 0 };
  const lastEventAt = num(item.lastEventAt);
  if (lastEventAt !== undefined) out.lastEventAt = lastEventAt;
  const lastEventId = str(item.lastEventId);
  if (lastEventId !== undefined) out.lastEventId = lastEventId;
  const completedAt = num(item.completedAt);
  if (completedAt !== undefined) out.completedAt = completedAt;
  const completedEventId = str(item.completedEventId);
  if (completedEventId !== undefined) out.completedEventId = completedEventId;
  const leaseEventId = str(item.leaseEventId);
  const leaseUntil = num(item.leaseUntil);
  if (leaseEventId !== undefined && leaseUntil !== undefined) {
    const leaseEventAt = num(item.leaseEventAt);
    const holder = str(item.leaseHolder);
    out.lease = {
      eventId: leaseEventId,
      until: leaseUntil,
      ...(leaseEventAt === undefined ? {} : { eventAt: leaseEventAt }),
      ...(holder === undefined ? {} : { holder }),
    };
  }
  return out;
}

/** The entry token a contact index item holds. */
export function entryTokenOf(item: Record<string, unknown>): string {
  const token = str(item.entryToken);
  if (token === undefined) throw new LedgerRecordError('contact index field "entryToken" is not a string');
  return token;
}

/** The count a chain counter item holds. */
export function chainCountOf(item: Record<string, unknown>): number {
  const tasks = num(item.tasks);
  if (tasks === undefined) throw new LedgerRecordError('chain counter field "tasks" is not a number');
  return tasks;
}
