/**
 * Runtime validation of the failure record (`failure-record.ts`) read back from a message attribute,
 * and of the `WrappedMessage` body. Messages in the DLQ can be days old, written by an older version
 * or edited by hand: nothing read from SQS is trusted without this check.
 */
import { z } from 'zod';
import { type FailureRecord, WRAPPED_MARKER, type WrappedMessage } from './failure-record.ts';

const isoDate = z.iso.datetime({ offset: true });
const count = z.number().int().nonnegative();

export const failureRecordSchema = z.object({
  v: z.literal(1),
  class: z.enum(['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED']),
  code: z.string().min(1),
  message: z.string(),
  source: z.string().optional(),
  ruleId: z.string().optional(),
  eventId: z.string().optional(),
  clientToken: z.string().optional(),
  attempts: count,
  redriveCount: count,
  firstFailureAt: isoDate,
  lastFailureAt: isoDate,
  nextAttemptAt: isoDate.optional(),
  originalMessageId: z.string().min(1),
  wrapped: z.boolean().optional(),
}) satisfies z.ZodType<FailureRecord>;

export const wrappedMessageSchema = z.object({
  marker: z.literal(WRAPPED_MARKER),
  body: z.string(),
  attributes: z.record(
    z.string(),
    z.object({
      DataType: z.string().min(1),
      StringValue: z.string().optional(),
      BinaryValue: z.string().optional(),
    }),
  ),
}) satisfies z.ZodType<WrappedMessage>;

/** One line naming what is wrong (paths and zod's messages; never the values themselves). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
