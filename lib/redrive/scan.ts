/**
 * One pass over a queue, shared by the redrive and the DLQ tools.
 *
 * Visibility is how SQS lets one reader walk a queue: every received message stays hidden while the
 * pass runs, so later receives return messages not seen yet. Messages the visitor leaves alone
 * ("hold") are made visible again (visibility 0) when the pass ends, so ops and the next run see them
 * at once; if the process dies first, they come back when their visibility timeout ends. A message
 * received twice in one pass (its visibility ran out) is not visited again; a batch made only of such
 * repeats ends the pass.
 */
import type { ReceivedMessage, SqsPort } from './sqs-port.ts';

export type VisitOutcome =
  /** Left as it is; made visible again when the pass ends. */
  | 'hold'
  /** Deleted or given its own visibility by the visitor: not touched again. */
  | 'done';

export type StopReason = 'empty' | 'limit' | 'time' | 'repeat' | 'visitor';

export interface ScanOptions {
  queueUrl: string;
  /** Most messages to receive in this pass. */
  maxScan: number;
  /** Visibility for received messages while the pass runs (1..43,200). */
  holdSeconds: number;
  /** Time left for the whole pass (Lambda's `getRemainingTimeInMillis`); the pass stops at `reserveMs`. */
  remainingTimeMs?: () => number;
  /**
   * Time kept back to finish the current message and release held ones (default 5,000): no message is
   * started, and no receive's wait, when less than this (plus that wait) is left.
   */
  reserveMs?: number;
  /**
   * Receive wait.
   * @default 1 s (asks every SQS server rather than a sample)
   */
  waitTimeSeconds?: number;
  /** Returns the outcome, or `stop` as well to end the pass after this message. */
  visit(message: ReceivedMessage): Promise<{ outcome: VisitOutcome; stop?: boolean }>;
}

export interface ScanResult {
  scanned: number;
  stoppedBy: StopReason;
  /** Held messages that could not be made visible again (they return when their visibility ends). */
  releaseFailures: number;
}

const MAX_BATCH = 10;

export async function scanQueue(sqs: SqsPort, options: ScanOptions): Promise<ScanResult> {
  const reserveMs = options.reserveMs ?? 5_000;
  const held = new Map<string, string>(); // messageId → latest receipt handle
  const seen = new Set<string>();
  let scanned = 0;
  let stoppedBy: StopReason = 'empty';
  let releaseFailures = 0;
  const waitSeconds = options.waitTimeSeconds ?? 1;
  /** True when `waitMs` more (a receive's long poll) would eat into the reserve. */
  const outOfTime = (waitMs = 0) =>
    options.remainingTimeMs !== undefined && options.remainingTimeMs() < reserveMs + waitMs;
  /** Messages of the batch not visited (the pass stopped first) are released with the held ones. */
  const holdRest = (batch: ReceivedMessage[], from: number) => {
    for (const rest of batch.slice(from)) {
      if (!seen.has(rest.messageId) || held.has(rest.messageId)) held.set(rest.messageId, rest.receiptHandle);
    }
  };

  try {
    scanning: while (true) {
      if (scanned >= options.maxScan) {
        stoppedBy = 'limit';
        break;
      }
      // A receive waits up to its long poll: it starts only when that wait still leaves the reserve.
      if (outOfTime(waitSeconds * 1000)) {
        stoppedBy = 'time';
        break;
      }
      const batch = await sqs.receive(options.queueUrl, {
        maxMessages: Math.min(MAX_BATCH, options.maxScan - scanned),
        visibilityTimeoutSeconds: options.holdSeconds,
        waitTimeSeconds: waitSeconds,
      });
      if (batch.length === 0) {
        stoppedBy = 'empty';
        break;
      }
      let fresh = 0;
      for (const [index, message] of batch.entries()) {
        if (seen.has(message.messageId)) {
          // Received again in this pass: keep only the newest handle so the release works.
          if (held.has(message.messageId)) held.set(message.messageId, message.receiptHandle);
          continue;
        }
        seen.add(message.messageId);
        fresh += 1;
        scanned += 1;
        const { outcome, stop } = await options.visit(message);
        if (outcome === 'hold') held.set(message.messageId, message.receiptHandle);
        if (stop || outOfTime()) {
          stoppedBy = stop ? 'visitor' : 'time';
          holdRest(batch, index + 1);
          break scanning;
        }
      }
      if (fresh === 0) {
        stoppedBy = 'repeat';
        break;
      }
    }
  } finally {
    // Runs on errors as well: nothing this pass held stays hidden longer than needed.
    for (const receiptHandle of held.values()) {
      try {
        await sqs.changeVisibility(options.queueUrl, receiptHandle, 0);
      } catch {
        releaseFailures += 1;
      }
    }
  }
  return { scanned, stoppedBy, releaseFailures };
}
