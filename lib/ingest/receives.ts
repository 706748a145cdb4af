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
 * Used by every retryable failure (a TRANSIENT one parks as EXHAUSTED). An update or complete whose
 * create has not arrived waits one receive less (`taskWaitReceive`, then parked PERMANENT
 * `TaskNotFound`), so that once its create is there a transient failure still has a receive to retry on.
 */
export const PARK_MARGIN_RECEIVES = 2;

/**
 * The first receive on which a retryable failure is parked instead of retried.
 * @example parkingReceive(8) // 6
 */
export function parkingReceive(maxReceiveCount: number): number {
  return Math.max(1, maxReceiveCount - PARK_MARGIN_RECEIVES);
}

/**
 * The receive on which an update or complete whose task is not in the ledger yet is parked
 * PERMANENT `TaskNotFound`: one before the parking receive.
 * @example taskWaitReceive(8) // 5
 */
export function taskWaitReceive(maxReceiveCount: number): number {
  return Math.max(1, parkingReceive(maxReceiveCount) - 1);
}
