/**
 * Runtime validation of the failure record (`failure-record.ts`) read back from a message attribute,
 * and of the `WrappedMessage` body. Messages in the DLQ can be days old, written by an older version
 * or edited by hand: nothing read from SQS is trusted without this check.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { LANES } from '#lib/lanes.ts';
import { type FailureRecord, WRAPPED_MARKER, type WrappedMessage } from './failure-record.ts';

// zod/mini (bundled into the Lambda functions) loads no locale: English messages as in classic zod.
z.config(en());

const isoDate = z.iso.datetime({ offset: true });
const count = z.number().check(z.int(), z.nonnegative());

export const failureRecordSchema = z.object({
  v: z.literal(1),
  class: z.enum(['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED']),
  code: z.string().check(z.minLength(1)),
  message: z.string(),
  source: z.optional(z.string()),
  ruleId: z.optional(z.string()),
  eventId: z.optional(z.string()),
  clientToken: z.optional(z.string()),
  lane: z.optional(z.enum(LANES)),
  attempts: count,
  redriveCount: count,
  firstFailureAt: isoDate,
  lastFailureAt: isoDate,
  nextAttemptAt: z.optional(isoDate),
  originalMessageId: z.string().check(z.minLength(1)),
  budgetFrom: z.optional(isoDate),
  replayId: z.optional(z.string().check(z.minLength(1), z.maxLength(100))),
  inPlace: z.optional(z.object({ attempts: count, taskWaits: count })),
  transientRounds: z.optional(count),
  wrapped: z.optional(z.boolean()),
}) satisfies z.ZodMiniType<FailureRecord>;

export const wrappedMessageSchema = z.object({
  marker: z.literal(WRAPPED_MARKER),
  body: z.string(),
  attributes: z.record(
    z.string(),
    z.object({
      DataType: z.string().check(z.minLength(1)),
      StringValue: z.optional(z.string()),
      BinaryValue: z.optional(z.string()),
    }),
  ),
}) satisfies z.ZodMiniType<WrappedMessage>;

/** One line naming what is wrong (paths and zod's messages; never the values themselves). */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
