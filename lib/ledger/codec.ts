/**
 * The codec between the ledger table's items and the port's types. Stored items are a boundary
 * (written by hand, or by an older version): entries are checked with a schema, and a record that
 * is not one is a `LedgerRecordError` naming the field, never its value.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { CONTACT_EVENT_TYPES, type ContactFact, type ContactFacts } from '#lib/contact-events/progress.ts';
import { LANES } from '#lib/lanes.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import { type NotifySpec, OUTCOME_TYPES } from '#lib/outcomes/outcome.ts';
import type { OutgoingMessage } from '#lib/retry/dlq-message.ts';
import { LedgerRecordError } from './errors.ts';
import type { LedgerEntry, StoredLedgerEntry, TaskLifecycle, Waiter } from './port.ts';

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

// ─── Progress, outbox, pending index, waiters ──────────────────────────────────────────────────────

/** The pending index (serverless.yml, LedgerTable `byPending`): partition and sort key attributes. */
export const PENDING_INDEX = 'byPending';
/** The partition of ended tasks and rejections whose effects are not all acknowledged. */
export const OUTBOX_PARTITION = 'outbox';
/** The partition of an instance's open tasks. */
export const openPartition = (instanceId: string) => `open#${instanceId}`;
/** The partition of an instance's OVER_QUOTA waiters. */
export const waitPartition = (instanceId: string) => `wait#${instanceId}`;
/** An effect is stored as the attribute `ob_<effect id>` holding its JSON. */
export const EFFECT_PREFIX = 'ob_';
export const effectAttribute = (effectId: string) => `${EFFECT_PREFIX}${effectId}`;

const factSchema = z.object({
  type: z.enum(CONTACT_EVENT_TYPES),
  at: z.number(),
  ref: z.string(),
  via: z.enum(['event', 'reconcile', 'api']),
  agentId: z.optional(z.string()),
  queueId: z.optional(z.string()),
  initiatedAt: z.optional(z.number()),
  enqueuedAt: z.optional(z.number()),
  connectedAt: z.optional(z.number()),
  disconnectedAt: z.optional(z.number()),
  acwStartAt: z.optional(z.number()),
  acwEndAt: z.optional(z.number()),
  disconnectReason: z.optional(z.string()),
}) satisfies z.ZodMiniType<ContactFact>;

const notifySchema = z.object({
  outcomes: z.array(z.enum(OUTCOME_TYPES)),
  data: z.optional(z.record(z.string(), z.unknown())),
});

const effectSchema = z.union([
  z.object({ id: z.string(), kind: z.literal('publish'), outcome: z.looseObject({ id: z.string() }) }),
  z.object({ id: z.string(), kind: z.literal('release'), instanceId: z.string(), slots: z.number() }),
]);

/** Parses `value` with `schema` or throws a LedgerRecordError naming `what` and the wrong fields. */
function parsed<T>(schema: z.ZodMiniType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new LedgerRecordError(`${what} has invalid fields: ${fieldsOf(result.error)}`);
  return result.data;
}

/** The contact facts an entry holds (none before the first contact event). */
export function factsOf(item: Record<string, unknown>): ContactFacts {
  const stored = item.facts;
  if (stored === undefined) return {};
  if (typeof stored !== 'object' || stored === null)
    throw new LedgerRecordError('ledger field "facts" is not a map');
  const facts: ContactFacts = {};
  for (const [type, fact] of Object.entries(stored)) {
    const read = parsed(factSchema, fact, `ledger fact ${type}`);
    facts[read.type] = read;
  }
  return facts;
}

export function notifyOf(item: Record<string, unknown>): NotifySpec | undefined {
  if (item.notify === undefined) return undefined;
  const { outcomes, data } = parsed(notifySchema, item.notify, 'ledger field "notify"');
  return data === undefined ? { outcomes } : { outcomes, data };
}

/** The effects an item holds (its `ob_*` attributes), in id order. */
export function effectsOf(item: Record<string, unknown>): Effect[] {
  return Object.keys(item)
    .filter((name) => name.startsWith(EFFECT_PREFIX))
    .sort()
    .map((name) => {
      const raw = item[name];
      let json: unknown;
      try {
        json = JSON.parse(String(raw));
      } catch {
        throw new LedgerRecordError(`ledger effect ${name} is not JSON`);
      }
      return parsed(effectSchema, json, `ledger effect ${name}`) as Effect;
    });
}

const waiterSchema = z.object({
  waitToken: z.string(),
  waitInstance: z.string(),
  waitLane: z.enum(LANES),
  waitMessage: z.string(),
  pendAt: z.number(),
  parkedAt: z.number(),
  claimUntil: z.optional(z.number()),
});

const outgoingSchema = z.object({
  MessageBody: z.string(),
  MessageAttributes: z.record(
    z.string(),
    z.object({
      DataType: z.string(),
      StringValue: z.optional(z.string()),
      BinaryValue: z.optional(z.string()),
    }),
  ),
});

/** A waiter item as the port's `Waiter` (the message's binary attributes travel base64-encoded). */
export function waiterOf(item: Record<string, unknown>): Waiter {
  const w = parsed(waiterSchema, item, 'ledger waiter');
  let message: unknown;
  try {
    message = JSON.parse(w.waitMessage);
  } catch {
    throw new LedgerRecordError('ledger waiter field "waitMessage" is not JSON');
  }
  const out = parsed(outgoingSchema, message, 'ledger waiter message');
  const attributes = Object.fromEntries(
    Object.entries(out.MessageAttributes).map(([name, v]) => [
      name,
      {
        DataType: v.DataType,
        ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
        ...(v.BinaryValue === undefined
          ? {}
          : { BinaryValue: new Uint8Array(Buffer.from(v.BinaryValue, 'base64')) }),
      },
    ]),
  );
  return {
    clientToken: w.waitToken,
    instanceId: w.waitInstance,
    lane: w.waitLane,
    message: { MessageBody: out.MessageBody, MessageAttributes: attributes },
    since: w.pendAt,
    parkedAt: w.parkedAt,
    ...(w.claimUntil === undefined ? {} : { claimUntil: w.claimUntil }),
  };
}

/** The JSON a waiter's message is stored as (binary attribute values base64-encoded). */
export function waiterMessageJson(message: OutgoingMessage): string {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes).map(([name, v]) => [
      name,
      {
        DataType: v.DataType ?? 'String',
        ...(v.StringValue === undefined ? {} : { StringValue: v.StringValue }),
        ...(v.BinaryValue === undefined
          ? {}
          : { BinaryValue: Buffer.from(v.BinaryValue).toString('base64') }),
      },
    ]),
  );
  return JSON.stringify({ MessageBody: message.MessageBody, MessageAttributes: attributes });
}
