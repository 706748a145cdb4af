/**
 * The failure record that travels with a message in the DLQ (and back to the ingest queue on replay).
 *
 * Format (docs/ARCHITECTURE.md, "DLQ record"): the body is kept byte-for-byte, the original message
 * attributes are kept, and ONE extra message attribute, `FAILURE_ATTRIBUTE`, carries this record as
 * JSON. SQS allows 10 message attributes; when the original already uses all 10, the message is
 * wrapped: the body becomes `WrappedMessage` JSON (original body + original attributes) and the only
 * attribute is the failure record, with `wrapped: true`. The ingest handler unwraps it. Nothing is
 * dropped.
 *
 * Each type here is its schema's `z.infer`: messages in the DLQ can be days old, written by an older
 * version or edited by hand, so nothing read from SQS is trusted without the schema's check.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { LANES } from '#lib/lanes.ts';

// zod/mini (bundled into the Lambda functions) loads no locale: English messages as in classic zod.
z.config(en());

export const FAILURE_ATTRIBUTE = 'cti.failure';
/** SQS: at most 10 message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;
export const WRAPPED_MARKER = 'connect-task-ingest/wrapped-message@1';

const FAILURE_CLASSES = ['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

const isoDate = z.iso.datetime({ offset: true });
const count = z.number().check(z.int(), z.nonnegative());

/** Ingest's counts of one message across the copies it sent back (`FailureRecord.inPlace`). */
const inPlaceCountsSchema = z.object({ attempts: count, taskWaits: count });
export type InPlaceCounts = z.infer<typeof inPlaceCountsSchema>;

export const failureRecordSchema = z.object({
  v: z.literal(1),
  class: z.enum(FAILURE_CLASSES),
  /** Error code: a Connect exception name (ServiceQuotaExceededException), or ours (MalformedJson, NoMatchingRule, ValidationFailed, MappingFailed, TemplateInactive, ...). */
  code: z.string().check(z.minLength(1)),
  /** Human-readable reason naming the problem (field and limit for validation). Never task contents. */
  message: z.string(),
  source: z.optional(z.string()),
  ruleId: z.optional(z.string()),
  /** The logical event id; for raw JSON without an id attribute, the first SQS message id (stamped on the first DLQ trip). */
  eventId: z.optional(z.string()),
  clientToken: z.optional(z.string()),
  /**
   * The lane whose queue the message was in when it failed; replays go back to that queue. Records
   * written before lanes existed have none: the normal lane (the ingest queue).
   */
  lane: z.optional(z.enum(LANES)),
  /** How many times this message has been parked in the DLQ (over-quota redrives count up). */
  attempts: count,
  /** How many times the redrive has sent it back. */
  redriveCount: count,
  /** ISO-8601. */
  firstFailureAt: isoDate,
  lastFailureAt: isoDate,
  /** ISO-8601; OVER_QUOTA only: when the redrive may replay it. */
  nextAttemptAt: z.optional(isoDate),
  /** The SQS message id of the first delivery that failed. */
  originalMessageId: z.string().check(z.minLength(1)),
  /**
   * ISO-8601: where the redrive's age limit counts from instead of `firstFailureAt` (an ops replay of an
   * EXHAUSTED message gives it a fresh budget: attempts from 0, that replay its first redrive, age from then).
   */
  budgetFrom: z.optional(isoDate),
  /**
   * Set by an ops replay (`dlq replay`) on the messages it sends back, one id per run: ingest refreshes
   * the source's rules and task templates the first time it sees an id, so a fix made just before the
   * replay is seen despite the caches. Not kept when the message is parked again.
   */
  replayId: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  /**
   * Ingest's own receive accounting (lib/ingest/receives.ts), carried by the fresh copy ingest sends
   * back to its queue (and the original deleted) where a receive would otherwise count without an
   * attempt: `attempts` that failed before (each copy's failed receives added up), and `taskWaits`,
   * the receives an update or complete spent waiting for its create (TaskNotFound), kept apart. A
   * message whose only trip is such a copy carries a record of class TRANSIENT and 0 `attempts`.
   * Dropped when the message is parked and when it is replayed: each round in place starts at 0.
   */
  inPlace: z.optional(inPlaceCountsSchema),
  /**
   * How many times the scheduled redrive has replayed this message after it was parked TRANSIENT
   * (its retries in place spent); at REDRIVE_TRANSIENT_ROUNDS it is left for ops as EXHAUSTED.
   */
  transientRounds: z.optional(count),
  /** True when the body is a `WrappedMessage`. */
  wrapped: z.optional(z.boolean()),
});
export type FailureRecord = z.infer<typeof failureRecordSchema>;

/** An SQS message attribute as the SQS JSON protocol carries it (String/Number/Binary). */
const sqsAttributeValueSchema = z.object({
  DataType: z.string().check(z.minLength(1)),
  StringValue: z.optional(z.string()),
  /** base64 */
  BinaryValue: z.optional(z.string()),
});
export type SqsAttributeValue = z.infer<typeof sqsAttributeValueSchema>;

export const wrappedMessageSchema = z.object({
  marker: z.literal(WRAPPED_MARKER),
  body: z.string(),
  attributes: z.record(z.string(), sqsAttributeValueSchema),
});
export type WrappedMessage = z.infer<typeof wrappedMessageSchema>;

/** One line naming what is wrong (paths and zod's messages; never the values themselves). */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
