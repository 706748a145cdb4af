/**
 * The rule format: how one upstream source's events become StartTaskContact requests.
 *
 * Stored in the rules table with partition key `source` and sort key `ruleId`. Every string marked
 * "JSONata" is an expression evaluated over the normalised envelope
 * `{source, id, type, time, data, attributes}` (see `lib/envelope/types.ts`).
 *
 * This module is the shape only (zod). `lib/rules/compile.ts` additionally compiles every JSONata
 * expression; a rule is written only when both pass (`validateRule`).
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1);
/** A JSONata expression, compiled separately. */
const expr = z.string().min(1, 'expression must not be empty');

export const REFERENCE_TYPE_AT_CREATION = z.enum(['URL', 'NUMBER', 'STRING', 'DATE', 'EMAIL']);

const targetSchema = z
  .strictObject({
    contactFlowId: nonEmpty.max(500).optional(),
    quickConnectId: nonEmpty.max(500).optional(),
    taskTemplateId: nonEmpty.max(500).optional(),
  })
  .refine(
    (t) => [t.contactFlowId, t.quickConnectId, t.taskTemplateId].filter((v) => v !== undefined).length === 1,
    { message: 'target must name exactly one of contactFlowId, quickConnectId, taskTemplateId' },
  );

export const referenceMappingSchema = z.strictObject({
  type: REFERENCE_TYPE_AT_CREATION,
  /** JSONata → string (DATE: ISO-8601 or epoch, sent as epoch seconds). */
  value: expr,
});

export const mappingSchema = z.strictObject({
  /** JSONata → string. Required by StartTaskContact. */
  name: expr,
  description: expr.optional(),
  /** Attribute key → JSONata giving its string value; a missing/undefined result omits the key. */
  attributes: z.record(z.string(), expr).optional(),
  /**
   * JSONata → an object (a bag of custom fields) whose string/number/boolean values become Attributes
   * under their own keys; null/undefined values are omitted, and an undefined/null result adds none.
   * Keys named in `attributes` win: such a key is never taken from the bag, even when its own
   * expression yields no value. The produced keys are checked like any attribute key at ingest time.
   */
  attributesFrom: expr.optional(),
  /** Reference key → type and JSONata for the value. */
  references: z.record(z.string(), referenceMappingSchema).optional(),
  /** JSONata → ISO-8601 string or epoch (seconds or milliseconds); sent as epoch seconds. */
  scheduledTime: expr.optional(),
  previousContactId: expr.optional(),
  relatedContactId: expr.optional(),
  /** Segment attribute key → JSONata giving a string (sent as `{ValueString}`). */
  segmentAttributes: z.record(z.string(), expr).optional(),
});

/**
 * A scheduled transfer after the task is created. Exactly one of `after` (ISO-8601 duration from
 * creation, e.g. `PT2H`) or `at` (JSONata giving a time); exactly one of queueId / userId.
 */
export const transferPlanSchema = z
  .strictObject({
    planId: nonEmpty.max(64).regex(/^[A-Za-z0-9_.-]+$/, 'planId: letters, digits, _ . - only'),
    after: z.iso.duration().optional(),
    at: expr.optional(),
    queueId: nonEmpty.max(500).optional(),
    userId: nonEmpty.max(500).optional(),
    contactFlowId: nonEmpty.max(500),
  })
  .refine((p) => (p.after === undefined) !== (p.at === undefined), {
    message: 'transfer plan needs exactly one of "after" (ISO-8601 duration) or "at" (expression)',
  })
  .refine((p) => (p.queueId === undefined) !== (p.userId === undefined), {
    message: 'transfer plan needs exactly one of queueId or userId, never both (TransferContact)',
  });

/**
 * For `action: "transfer"`: the message asks to transfer the task created for an earlier event of
 * the same source, found by that event's idempotency key.
 */
export const transferRequestSchema = z
  .strictObject({
    /** JSONata → the earlier event's idempotency key. */
    targetKey: expr,
    /** JSONata → when (ISO-8601 or epoch); absent means now. */
    at: expr.optional(),
    queueId: nonEmpty.max(500).optional(),
    userId: nonEmpty.max(500).optional(),
    contactFlowId: nonEmpty.max(500),
  })
  .refine((p) => (p.queueId === undefined) !== (p.userId === undefined), {
    message: 'transfer request needs exactly one of queueId or userId, never both (TransferContact)',
  });

export const ruleOptionsSchema = z.strictObject({
  /** Truncate Name/Description to the limit instead of refusing the message. */
  truncate: z.boolean().default(false),
  /** On the 12-task PreviousContactId chain limit (402): retry as RelatedContactId, or park in the DLQ. */
  onChainLimit: z.enum(['related', 'park']).default('park'),
});

const baseRule = {
  source: nonEmpty.max(256),
  ruleId: nonEmpty.max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'ruleId: letters, digits, _ . : - only'),
  description: z.string().max(1024).optional(),
  /** Lower runs first; first matching rule wins. */
  priority: z.number().int().min(0).max(1_000_000).default(100),
  enabled: z.boolean().default(true),
  /** JSONata predicate over the envelope; absent means "matches everything". */
  match: expr.optional(),
};

/** Creates a task (the default action). */
export const createRuleSchema = z.strictObject({
  ...baseRule,
  action: z.literal('create').default('create'),
  instanceId: nonEmpty.max(100),
  target: targetSchema,
  mapping: mappingSchema,
  /** JSONata → the event's idempotency key; default: the envelope id. */
  idempotencyKey: expr.optional(),
  transfer: transferPlanSchema.optional(),
  options: ruleOptionsSchema.default({ truncate: false, onChainLimit: 'park' }),
});

/** Transfers the task created for an earlier event. */
export const transferRuleSchema = z.strictObject({
  ...baseRule,
  action: z.literal('transfer'),
  instanceId: nonEmpty.max(100),
  transferRequest: transferRequestSchema,
  idempotencyKey: expr.optional(),
});

/** Deliberately drops matching events (counted in the `Dropped` metric), e.g. a type nobody needs. */
export const dropRuleSchema = z.strictObject({
  ...baseRule,
  action: z.literal('drop'),
});

export const ruleSchema = z.union([createRuleSchema, transferRuleSchema, dropRuleSchema]);

export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type CreateRule = z.output<typeof createRuleSchema>;
export type TransferRule = z.output<typeof transferRuleSchema>;
export type DropRule = z.output<typeof dropRuleSchema>;
export type TransferPlan = z.output<typeof transferPlanSchema>;
export type TransferRequest = z.output<typeof transferRequestSchema>;
export type RuleMapping = z.output<typeof mappingSchema>;
