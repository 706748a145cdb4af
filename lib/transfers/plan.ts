/**
 * Turning transfer plans (from a rule) and transfer requests (from an event) into transfer items.
 *
 * Both are pure: the caller writes the item with `TransferStore.schedule`, which refuses a second
 * item with the same contactId + planId — so the plan id must be the same every time the same
 * logical transfer is asked for. A rule's plan has its own `planId`; an event-requested transfer
 * gets `evt-` + a hash of what it asks for (instance, contact, destination, flow, time, and an
 * optional producer `requestId`), so a redelivered or re-published event schedules nothing new.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { eventPlanId } from '#lib/idempotency/ids.ts';
import type { TransferPlan } from '#lib/rules/schema.ts';
import { TransferPlanError } from './errors.ts';
import { DEFAULT_TRANSFER_RETENTION_MS, type TransferItem } from './store/port.ts';

// zod/mini (bundled into the Lambda functions) loads no locale: English messages as in classic zod.
z.config(en());

const MS = { W: 604_800_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1_000 } as const;

const NUMBER = String.raw`(\d+(?:[.,]\d+)?)`;
const DURATION = new RegExp(
  `^P(?:${NUMBER}Y)?(?:${NUMBER}M)?(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`,
);

/**
 * Parses an ISO-8601 duration into milliseconds.
 *
 * Accepts `PnW`, and `PnDTnHnMnS` with any components present (`P2D`, `PT90M`, `P1DT12H`,
 * `PT0.5S`); a fraction is allowed on the last component only. A day is exactly 24 hours (the
 * service works in UTC epoch time). Years and months are refused: their length depends on the
 * calendar, so "P1M" would be ambiguous (and is easily confused with "PT1M", one minute).
 */
export function parseIsoDuration(text: string): number {
  if (typeof text !== 'string')
    throw new TransferPlanError('duration must be an ISO-8601 string like "PT2H"');
  const m = DURATION.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) {
    throw new TransferPlanError(`"${text}" is not an ISO-8601 duration (e.g. "PT2H", "P1DT30M", "P1W")`);
  }
  const [, years, months, weeks, days, hours, minutes, seconds] = m;
  if (years !== undefined || months !== undefined) {
    throw new TransferPlanError(
      `duration "${text}" uses years or months, whose length depends on the calendar; use days or weeks (e.g. "P30D")`,
    );
  }
  if (weeks !== undefined && (days ?? hours ?? minutes ?? seconds) !== undefined) {
    throw new TransferPlanError(
      `duration "${text}": weeks cannot be combined with other components (ISO 8601)`,
    );
  }
  const parts: [string | undefined, number][] = [
    [weeks, MS.W],
    [days, MS.D],
    [hours, MS.H],
    [minutes, MS.M],
    [seconds, MS.S],
  ];
  const present = parts.filter(([value]) => value !== undefined) as [string, number][];
  let total = 0;
  present.forEach(([value, unit], index) => {
    const fractional = /[.,]/.test(value);
    if (fractional && index !== present.length - 1) {
      throw new TransferPlanError(`duration "${text}": only the last component may have a fraction`);
    }
    total += Number(value.replace(',', '.')) * unit;
  });
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new TransferPlanError(`duration "${text}" is too long`);
  return ms;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
/** Epoch values below this are seconds, above are milliseconds (1e11 s is the year 5138). */
const SECONDS_BELOW = 1e11;

/**
 * A point in time as epoch milliseconds, from an ISO-8601 date-time with a zone (`Z` or an offset)
 * or an epoch number (seconds or milliseconds, told apart by magnitude; numeric strings too).
 */
export function toEpochMs(value: string | number): number {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value))) {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new TransferPlanError('time must be a non-negative epoch number');
    return Math.round(n < SECONDS_BELOW ? n * 1000 : n);
  }
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
    throw new TransferPlanError(
      'time must be an ISO-8601 date-time with a zone (e.g. "2024-05-01T09:00:00Z") or epoch seconds/milliseconds',
    );
  }
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new TransferPlanError('time is not a valid ISO-8601 date-time');
  return ms;
}

function checkId(label: string, value: unknown, max: number): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new TransferPlanError(`${label} must be a string of 1..${max} characters`);
  }
}

function checkDestination(queueId: string | undefined, userId: string | undefined): void {
  if ((queueId === undefined) === (userId === undefined)) {
    throw new TransferPlanError(
      'a transfer needs exactly one of queueId or userId, never both (TransferContact)',
      'InvalidTransferDestination',
    );
  }
}

export interface PlanContext {
  /** The task's ContactId (StartTaskContact response). */
  contactId: string;
  instanceId: string;
  /** When the task was created (epoch ms): the origin of `after`. */
  createdAt: number;
  /**
   * For plans with `at`: the value of that JSONata expression, evaluated by the caller (epoch ms or
   * s, or an ISO-8601 date-time). Ignored for plans with `after`.
   */
  at?: number | string;
}

/**
 * Use case: the transfer item for a rule's transfer plan, for a task that was just created.
 *
 * Input: the validated plan (lib/rules/schema.ts) and the task's contact, instance and creation time.
 * Output: a PENDING `TransferItem` keyed by contactId + the plan's planId, due at creation + `after`
 * (ISO-8601 duration) or at the evaluated `at`.
 * Primary course: parse the due time, check the destination (exactly one of queueId / userId), build
 * the item; the TTL runs from the due time.
 */
export function planFromRule(plan: TransferPlan, ctx: PlanContext): TransferItem {
  checkId('contactId', ctx.contactId, DEFAULT_TASK_LIMITS.contactIdMaxLength);
  checkId('instanceId', ctx.instanceId, DEFAULT_TASK_LIMITS.instanceIdMaxLength);
  checkId('contactFlowId', plan.contactFlowId, DEFAULT_TASK_LIMITS.contactFlowIdMaxLength);
  checkDestination(plan.queueId, plan.userId);
  if (!Number.isFinite(ctx.createdAt)) throw new TransferPlanError('createdAt must be epoch milliseconds');
  let dueAt: number;
  if (plan.after !== undefined) {
    dueAt = ctx.createdAt + parseIsoDuration(plan.after);
  } else if (ctx.at !== undefined) {
    dueAt = toEpochMs(ctx.at);
  } else {
    throw new TransferPlanError(`transfer plan "${plan.planId}" has "at" but no evaluated time was given`);
  }
  return newItem({
    contactId: ctx.contactId,
    planId: plan.planId,
    instanceId: ctx.instanceId,
    queueId: plan.queueId,
    userId: plan.userId,
    contactFlowId: plan.contactFlowId,
    dueAt,
    createdAt: ctx.createdAt,
  });
}

function newItem(fields: {
  contactId: string;
  planId: string;
  instanceId: string;
  queueId: string | undefined;
  userId: string | undefined;
  contactFlowId: string;
  dueAt: number;
  createdAt: number;
}): TransferItem {
  const item: TransferItem = {
    contactId: fields.contactId,
    planId: fields.planId,
    instanceId: fields.instanceId,
    status: 'PENDING',
    dueAt: fields.dueAt,
    contactFlowId: fields.contactFlowId,
    attempts: 0,
    createdAt: fields.createdAt,
    updatedAt: fields.createdAt,
    expiresAt: Math.ceil((Math.max(fields.dueAt, fields.createdAt) + DEFAULT_TRANSFER_RETENTION_MS) / 1000),
  };
  if (fields.queueId !== undefined) item.queueId = fields.queueId;
  if (fields.userId !== undefined) item.userId = fields.userId;
  return item;
}

const id = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/**
 * The EventBridge `detail` of a transfer request. The contact is named either directly
 * (`contactId`) or as "the task created for the event with this idempotency key of this source"
 * (`source` + `idempotencyKey`, resolved through the ledger by `acceptTransferRequest`).
 */
const transferEventDetailSchema = z
  .strictObject({
    instanceId: id(DEFAULT_TASK_LIMITS.instanceIdMaxLength),
    contactId: z.optional(id(DEFAULT_TASK_LIMITS.contactIdMaxLength)),
    source: z.optional(id(256)),
    idempotencyKey: z.optional(id(1024)),
    queueId: z.optional(id(500)),
    userId: z.optional(id(500)),
    contactFlowId: id(DEFAULT_TASK_LIMITS.contactFlowIdMaxLength),
    /** ISO-8601 date-time with zone, or epoch s/ms; absent means now. */
    at: z.optional(z.union([z.string().check(z.minLength(1)), z.number().check(z.nonnegative())])),
    /** Set by a producer that wants two otherwise identical requests to be two transfers. */
    requestId: z.optional(id(128)),
  })
  .check(
    z.refine((d) => (d.queueId === undefined) !== (d.userId === undefined), {
      message: 'give exactly one of queueId or userId, never both (TransferContact)',
      path: ['queueId'],
    }),
    z.refine(
      (d) =>
        d.contactId !== undefined
          ? d.source === undefined && d.idempotencyKey === undefined
          : d.source !== undefined && d.idempotencyKey !== undefined,
      {
        message:
          'name the contact either by contactId, or by source + idempotencyKey of the event that created it',
        path: ['contactId'],
      },
    ),
  );

export type TransferEventDetail = z.output<typeof transferEventDetailSchema>;

/** Validates an EventBridge transfer-request detail; the error lists every problem (field names only). */
export function parseTransferDetail(detail: unknown): TransferEventDetail {
  const parsed = transferEventDetailSchema.safeParse(detail);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'detail'}: ${issue.message}`)
      .join('; ');
    throw new TransferPlanError(`invalid transfer request: ${problems}`, 'InvalidTransferRequest', {
      cause: parsed.error,
    });
  }
  if (parsed.data.at !== undefined) toEpochMs(parsed.data.at);
  return parsed.data;
}

/**
 * Use case: the transfer item for an event-requested transfer.
 *
 * Input: the EventBridge detail (validated here) whose contact is named by `contactId` (callers that
 * received `source` + `idempotencyKey` resolve it through the ledger first and pass the detail with
 * `contactId` set), and the current time.
 * Output: a PENDING `TransferItem`, due at `at` or now, with a deterministic `evt-…` plan id.
 * Primary course: validate (exactly one of queueId / userId, a valid time), derive the plan id from
 * the request's content, build the item.
 */
export function requestFromEvent(detail: unknown, now: number): TransferItem {
  const d = parseTransferDetail(detail);
  if (d.contactId === undefined) {
    throw new TransferPlanError(
      'transfer request names the contact by source + idempotencyKey; resolve it through the ledger first',
      'UnresolvedTransferTarget',
    );
  }
  const at = d.at === undefined ? undefined : toEpochMs(d.at);
  return newItem({
    contactId: d.contactId,
    planId: eventPlanId({ ...d, contactId: d.contactId, at }),
    instanceId: d.instanceId,
    queueId: d.queueId,
    userId: d.userId,
    contactFlowId: d.contactFlowId,
    dueAt: at ?? now,
    createdAt: now,
  });
}
