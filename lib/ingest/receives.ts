/**
 * The receive on which ingest stops retrying a message in place and parks it in the DLQ with its
 * reason: two before the last one the ingest queue allows (its RedrivePolicy maxReceiveCount).
 *
 * Parking is two steps, the DLQ send and then the delete by the event source, and an invocation can
 * die between them (a Lambda timeout or crash; the chaos suite kills one invocation in ten there).
 * The message then comes back with its receive count up by one. Parked on the last receive, it would
 * come back past maxReceiveCount and SQS would move it to the DLQ bare, beside the copy with the
 * reason. The receives kept back let a later invocation park it again with its reason; with one kept
 * back, two such deaths in a row were seen to let a bare copy through in the chaos suite.
 *
 * Used by every retryable failure (a TRANSIENT one parks as EXHAUSTED) and by an update or complete
 * whose create has not arrived (parked PERMANENT `TaskNotFound`).
 */
export const PARK_MARGIN_RECEIVES = 2;

/**
 * The first receive on which a retryable failure is parked instead of retried.
 * @example parkingReceive(8) // 6
 */
export function parkingReceive(maxReceiveCount: number): number {
  return Math.max(1, maxReceiveCount - PARK_MARGIN_RECEIVES);
}
