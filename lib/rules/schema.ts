/**
 * The rule format: how one upstream source's events become StartTaskContact requests.
 *
 * Stored in the rules table with partition key `source` and sort key `ruleId`. Every string marked
 * "JSONata" is an expression evaluated over the normalised envelope
 * `{source, id, type, time, data, attributes}` (see `lib/envelope/types.ts`).
 *
 * This module is the shape only (zod). `lib/rules/compile.ts` additionally compiles every JSONata
 * expression; a rule is written only when both pass (`validateRule`). It uses `zod/mini`, the
 * tree-shakable functional build: it is bundled into every Lambda function, so its size is cold-start time.
 */

import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { LANES } from '#lib/lanes.ts';
import { OUTCOME_TYPES } from '#lib/outcomes/outcome.ts';

// zod/mini loads no locale (every message would be "Invalid input"); English as in classic zod.
z.config(en());

/** A non-empty string of at most `max` characters. */
const nonEmpty = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
/** A JSONata expression, compiled separately. */
const expr = z.string().check(z.minLength(1, 'expression must not be empty'));

const REFERENCE_TYPE_AT_CREATION = z.enum(['URL', 'NUMBER', 'STRING', 'DATE', 'EMAIL']);
/** The reference types UpdateContact takes (its API reference): ATTACHMENT too. */
const REFERENCE_TYPE_AT_UPDATE = z.enum(['URL', 'ATTACHMENT', 'NUMBER', 'STRING', 'DATE', 'EMAIL']);

const targetSchema = z
  .strictObject({
    contactFlowId: z.optional(nonEmpty(500)),
    quickConnectId: z.optional(nonEmpty(500)),
    taskTemplateId: z.optional(nonEmpty(500)),
  })
  .check(
    z.refine(
      (t) =>
        [t.contactFlowId, t.quickConnectId, t.taskTemplateId].filter((v) => v !== undefined).length === 1,
      { message: 'target must name exactly one of contactFlowId, quickConnectId, taskTemplateId' },
    ),
  );

const referenceMappingSchema = z.strictObject({
  type: REFERENCE_TYPE_AT_CREATION,
  /** JSONata → string (DATE: ISO-8601 or epoch, sent as epoch seconds). */
  value: expr,
});

const mappingSchema = z.strictObject({
  /** JSONata → string. Required by StartTaskContact. */
  name: expr,
  description: z.optional(expr),
  /** Attribute key → JSONata giving its string value; a missing/undefined result omits the key. */
  attributes: z.optional(z.record(z.string(), expr)),
  /**
   * JSONata → an object (a bag of custom fields) whose string/number/boolean values become Attributes
   * under their own keys; null/undefined values are omitted, and an undefined/null result adds none.
   * Keys named in `attributes` win: such a key is never taken from the bag, even when its own
   * expression yields no value. The produced keys are checked like any attribute key at ingest time.
   */
  attributesFrom: z.optional(expr),
  /** Reference key → type and JSONata for the value. */
  references: z.optional(z.record(z.string(), referenceMappingSchema)),
  /** JSONata → ISO-8601 string or epoch (seconds or milliseconds); sent as epoch seconds. */
  scheduledTime: z.optional(expr),
  previousContactId: z.optional(expr),
  relatedContactId: z.optional(expr),
  /** Segment attribute key → JSONata giving a string (sent as `{ValueString}`). */
  segmentAttributes: z.optional(z.record(z.string(), expr)),
});

/** Where a transfer goes: a queue or an agent, through a transfer flow (TransferContact API reference). */
const transferTarget = {
  queueId: z.optional(nonEmpty(500)),
  userId: z.optional(nonEmpty(500)),
  contactFlowId: nonEmpty(500),
};

/** TransferContact takes exactly one of QueueId / UserId. */
function oneDestination(what: string) {
  return z.refine<{ queueId?: string | undefined; userId?: string | undefined }>(
    (p) => (p.queueId === undefined) !== (p.userId === undefined),
    { message: `${what} needs exactly one of queueId or userId, never both (TransferContact)` },
  );
}

/**
 * A scheduled transfer after the task is created. Exactly one of `after` (ISO-8601 duration from
 * creation, e.g. `PT2H`) or `at` (JSONata giving a time); exactly one of queueId / userId.
 */
export const transferPlanSchema = z
  .strictObject({
    planId: nonEmpty(64).check(z.regex(/^[A-Za-z0-9_.-]+$/, 'planId: letters, digits, _ . - only')),
    after: z.optional(z.iso.duration()),
    at: z.optional(expr),
    ...transferTarget,
  })
  .check(
    z.refine((p) => (p.after === undefined) !== (p.at === undefined), {
      message: 'transfer plan needs exactly one of "after" (ISO-8601 duration) or "at" (expression)',
    }),
    oneDestination('transfer plan'),
  );

/**
 * For `action: "transfer"`: the message asks to transfer the task created for an earlier event of
 * the same source, found by that event's idempotency key.
 */
const transferRequestSchema = z
  .strictObject({
    /** JSONata → the earlier event's idempotency key. */
    targetKey: expr,
    /** JSONata → when (ISO-8601 or epoch); absent means now. */
    at: z.optional(expr),
    ...transferTarget,
  })
  .check(oneDestination('transfer request'));

const ruleOptionsSchema = z.strictObject({
  /** Truncate Name/Description to the limit instead of refusing the message. */
  truncate: z._default(z.boolean(), false),
  /** On the 12-task PreviousContactId chain limit (402): retry as RelatedContactId, or park in the DLQ. */
  onChainLimit: z._default(z.enum(['related', 'park']), 'park'),
  /**
   * The priority lane of the rule's events (`urgent`, `normal`, `bulk`): an event that arrives on
   * another lane's queue is moved to this lane's queue first. Absent: the lane it arrived on.
   */
  lane: z.optional(z.enum(LANES)),
});

/**
 * Outcomes the rule's publisher wants on the outcome bus (lib/outcomes/outcome.ts): which ones
 * (default all), and `data`, the only task contents an outcome carries: key → JSONata over the create
 * event. Its events' rejections are published too when `outcomes` lists `task.rejected`, and so are
 * those of its source's events that no rule matches.
 */
export const notifySchema = z.strictObject({
  outcomes: z._default(z.array(z.enum(OUTCOME_TYPES)).check(z.minLength(1)), [...OUTCOME_TYPES]),
  data: z.optional(z.record(nonEmpty(64), expr)),
});

const baseRule = {
  source: nonEmpty(256),
  ruleId: nonEmpty(128).check(z.regex(/^[A-Za-z0-9_.:-]+$/, 'ruleId: letters, digits, _ . : - only')),
  description: z.optional(z.string().check(z.maxLength(1024))),
  /** Lower runs first; first matching rule wins. */
  priority: z._default(z.number().check(z.int(), z.gte(0), z.lte(1_000_000)), 100),
  enabled: z._default(z.boolean(), true),
  /** JSONata predicate over the envelope; absent means "matches everything". */
  match: z.optional(expr),
};

/** Creates a task (the default action). */
export const createRuleSchema = z.strictObject({
  ...baseRule,
  action: z._default(z.literal('create'), 'create'),
  instanceId: nonEmpty(100),
  target: targetSchema,
  mapping: mappingSchema,
  /**
   * JSONata → the event's idempotency key.
   * @default the envelope id
   */
  idempotencyKey: z.optional(expr),
  transfer: z.optional(transferPlanSchema),
  notify: z.optional(notifySchema),
  options: z._default(ruleOptionsSchema, { truncate: false, onChainLimit: 'park' }),
});

/** Transfers the task created for an earlier event. */
export const transferRuleSchema = z.strictObject({
  ...baseRule,
  action: z.literal('transfer'),
  instanceId: nonEmpty(100),
  transferRequest: transferRequestSchema,
  idempotencyKey: z.optional(expr),
});

/** Deliberately drops matching events (counted in the `Dropped` metric), e.g. a type nobody needs. */
export const dropRuleSchema = z.strictObject({
  ...baseRule,
  action: z.literal('drop'),
});

/** What an `update` rule changes on the task: UpdateContact's Name, Description and References. */
const updateMappingSchema = z
  .strictObject({
    /** JSONata → string. */
    name: z.optional(expr),
    description: z.optional(expr),
    /** Reference key → type and JSONata for the value (added or replaced by key; DATE as at creation). */
    references: z.optional(
      z.record(z.string(), z.strictObject({ type: REFERENCE_TYPE_AT_UPDATE, value: expr })),
    ),
  })
  .check(
    z.refine(
      (m) =>
        m.name !== undefined ||
        m.description !== undefined ||
        (m.references !== undefined && Object.keys(m.references).length > 0),
      { message: 'an update mapping needs at least one of name, description, references (UpdateContact)' },
    ),
  );

/**
 * The task an `update` or `complete` event is about: the `create` event of the same source whose
 * idempotency key `correlationKey` gives (the ledger entry `taskClientToken(instanceId, source, key)`).
 * Absent: the `idempotencyKey` expression of the source's create rule for the same instance (the first
 * by priority then ruleId, enabled ones first), evaluated over the update/complete event.
 */
const lifecycleRule = {
  ...baseRule,
  instanceId: nonEmpty(100),
  /** JSONata → the create event's idempotency key. */
  correlationKey: z.optional(expr),
};

/** Updates the task of an earlier event (UpdateContact), newest event time wins. */
export const updateRuleSchema = z.strictObject({
  ...lifecycleRule,
  action: z.literal('update'),
  mapping: updateMappingSchema,
  options: z._default(
    z.strictObject({
      /** Truncate Name/Description to the limit instead of refusing the message. */
      truncate: z._default(z.boolean(), false),
    }),
    { truncate: false },
  ),
});

/** Completes (StopContact) the task of an earlier event; final: later updates change nothing. */
export const completeRuleSchema = z.strictObject({
  ...lifecycleRule,
  action: z.literal('complete'),
});

const ruleSchema = z.union([
  createRuleSchema,
  transferRuleSchema,
  dropRuleSchema,
  updateRuleSchema,
  completeRuleSchema,
]);

export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type CreateRule = z.output<typeof createRuleSchema>;
export type UpdateRule = z.output<typeof updateRuleSchema>;
export type TransferPlan = z.output<typeof transferPlanSchema>;
