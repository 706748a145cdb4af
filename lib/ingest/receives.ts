/**
 * The receive accounting of the ingest queues: which receives of a message count toward parking it.
 *
 * SQS's ApproximateReceiveCount rises on every receive, whatever the handler does, and the queue's
 * RedrivePolicy moves a message to the DLQ bare at maxReceiveCount. Two kinds of receive must not
 * count as a failed attempt: one the invocation could not attempt (its time ran short before a
 * budget slot, a lease or the record itself; lib/retry/deadline.ts), and one an update or complete
 * spent waiting for its create (TaskNotFound), which is counted apart. For those, ingest sends the
 * message back to its own queue as a fresh copy (receive count 0) that carries the counts in its
 * failure record (`FailureRecord.inPlace`, lib/retry/failure-record.ts), and the original is deleted.
 * A duplicate, if the delete is lost, is harmless: the ClientToken and the idempotency record dedupe
 * it. Every other retryable failure is retried in place (visibility backoff) and counts; so does a
 * receive whose invocation died (it comes back with its receive count up by one).
 *
 * So a message's counted attempts are those its copies carried plus its own receives before this one;
 * its waits for a create are those its copies carried.
 *
 * Parking is two steps, the DLQ send and then the delete by the event source, and an invocation can
 * die between them (a Lambda timeout or crash; the chaos suite kills one invocation in ten there).
 * The message then comes back with its receive count up by one. Parked on the last receive, it would
 * come back past maxReceiveCount and SQS would move it to the DLQ bare, beside the copy with the
 * reason. The receives kept back let a later invocation park it again with its reason; with one kept
 * back, two such deaths in a row were seen to let a bare copy through in the chaos suite. Since a
 * message's own receives never exceed its counted attempts, parking on the counted attempt two before
 * maxReceiveCount keeps those two receives back whatever its copies carried.
 */
import type { InPlaceCounts } from '#lib/retry/failure-record.ts';

export const PARK_MARGIN_RECEIVES = 2;

/**
 * The counted attempt on which a retryable failure is parked instead of retried in place: two before
 * the queue's maxReceiveCount (with nothing else counted, that receive of the message).
 * @example parkingReceive(8) // 6
 */
export function parkingReceive(maxReceiveCount: number): number {
  return Math.max(1, maxReceiveCount - PARK_MARGIN_RECEIVES);
}

/**
 * The wait for its create on which an update or complete whose task is not in the ledger yet is parked
 * PERMANENT `TaskNotFound`: one before the parking receive (7 waits of 10).
 * @example taskWaitReceive(8) // 5
 */
export function taskWaitReceive(maxReceiveCount: number): number {
  return Math.max(1, parkingReceive(maxReceiveCount) - 1);
}

/** What one receive of a record finds already counted. */
export interface ReceiveAccount {
  /** Failed attempts before this receive: the copies' count plus this message's earlier receives. */
  attemptsBefore: number;
  /** Waits for the create (TaskNotFound) before this receive. */
  taskWaitsBefore: number;
}

/**
 * The account of a receive.
 * Input: the record's ApproximateReceiveCount (1 on its first delivery) and the counts its failure
 * record carries (`inPlace`, absent on a message ingest never sent back).
 * @example receiveAccount(3, { attempts: 2, taskWaits: 4 }) // { attemptsBefore: 4, taskWaitsBefore: 4 }
 */
export function receiveAccount(receiveCount: number, carried?: InPlaceCounts): ReceiveAccount {
  const own = Number.isFinite(receiveCount) ? Math.max(0, Math.floor(receiveCount) - 1) : 0;
  return { attemptsBefore: (carried?.attempts ?? 0) + own, taskWaitsBefore: carried?.taskWaits ?? 0 };
}

/** The counted attempt this receive makes (1 on a message's first). */
export function countedAttempt(account: ReceiveAccount): number {
  return account.attemptsBefore + 1;
}

/** SQS's DelaySeconds allows 0..900 (15 minutes): the longest a copy can be held back. */
export const MAX_COPY_DELAY_SECONDS = 900;

/**
 * How long a record the invocation could not attempt stays away: a few seconds (jittered so the
 * records of one batch do not come back together), never the queue's visibility timeout.
 */
const NOT_ATTEMPTED_DELAY_SECONDS = { min: 1, max: 5 } as const;

/** A jittered delay in NOT_ATTEMPTED_DELAY_SECONDS, whole seconds. */
export function notAttemptedDelaySeconds(random: () => number = Math.random): number {
  const { min, max } = NOT_ATTEMPTED_DELAY_SECONDS;
  return Math.min(max, min + Math.floor(random() * (max - min + 1)));
}
