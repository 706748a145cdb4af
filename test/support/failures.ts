/**
 * Builders for the failures tests hand to the code under test: the SDK's service errors (as the SDK
 * throws them, with `$metadata.httpStatusCode`), plain errors of that shape, and DLQ failure records.
 * HTTP status codes are those of the Amazon Connect API model and the SQS API reference.
 */
import { SQSServiceException } from '@aws-sdk/client-sqs';
import type { FailureInput } from '#lib/retry/dlq-message.ts';
import type { FailureRecord } from '#lib/retry/failure-record.ts';

/** The response metadata the SDK puts on every service error. */
const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** An SQS server-side error as the SQS client throws it (e.g. ServiceUnavailable, 503). */
export function sqsServiceError(name: string, status: number, message: string): SQSServiceException {
  return new SQSServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    ...meta(status),
    message,
  });
}

/** The failure of a 402 over the active-task quota, as ingest parks it. */
export function overQuotaFailure(overrides: Partial<FailureInput> = {}): FailureInput {
  return { class: 'OVER_QUOTA', code: 'ServiceQuotaExceededException', message: 'quota', ...overrides };
}

/**
 * A failure record a message carried into the DLQ before, failed first and last at `at` (epoch ms).
 * Defaults: OVER_QUOTA ServiceQuotaExceededException, one attempt, never redriven.
 */
export function previousFailure(at: number, overrides: Partial<FailureRecord> = {}): FailureRecord {
  const time = new Date(at).toISOString();
  return {
    v: 1,
    class: 'OVER_QUOTA',
    code: 'ServiceQuotaExceededException',
    message: 'quota',
    attempts: 1,
    redriveCount: 0,
    firstFailureAt: time,
    lastFailureAt: time,
    originalMessageId: 'first-delivery',
    ...overrides,
  };
}
