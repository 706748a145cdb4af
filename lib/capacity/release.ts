/**
 * When tasks of an instance end, the OVER_QUOTA events parked for that instance come back at once,
 * oldest first, one per freed slot, instead of waiting for their backoff (the scheduled redrive stays
 * the fallback: for slots freed by tasks other systems started, and for lost contact events).
 *
 * Ingest records a waiter (lib/ledger/port.ts `Waiter`) beside every such DLQ message; a release
 * reads the oldest waiters of the instance from the pending index (never the DLQ), holds each with a
 * claim, sends its message back to its lane's queue as a replay (the same body, attributes and failure
 * record a redrive would send, `redriveCount` + 1), and removes it. A waiter whose task already exists
 * is removed without a send. Send first, remove after: a crash between leaves a duplicate, which the
 * ClientToken and the idempotency record make harmless; never a loss (the DLQ copy is still there).
 */
import type { Lane } from '#lib/lanes.ts';
import type { LedgerStore, WaiterLedger } from '#lib/ledger/port.ts';
import { type OutgoingMessage, readDlqMessage, toReplayMessage } from '#lib/retry/dlq-message.ts';

/** How long a release holds a waiter before another may take it (a crashed release's waiter comes back). */
const RELEASE_CLAIM_MS = 60_000;

export interface ReleaseDeps {
  waiters: WaiterLedger;
  entries: Pick<LedgerStore, 'get'>;
  /** Sends a message to the queue of `lane`. */
  send(lane: Lane, message: OutgoingMessage): Promise<void>;
  now: () => number;
}

export interface ReleaseResult {
  /** ClientTokens of the events sent back. */
  released: string[];
  /** Waiters removed without a send: their task exists, or their message cannot be replayed. */
  dropped: number;
}

/** Sends back up to `slots` of the oldest waiters of `instanceId`. */
export async function releaseWaiters(
  instanceId: string,
  slots: number,
  deps: ReleaseDeps,
): Promise<ReleaseResult> {
  const result: ReleaseResult = { released: [], dropped: 0 };
  for (let round = 0; result.released.length < slots && round < 10; round += 1) {
    const candidates = await deps.waiters.oldestWaiters(
      instanceId,
      slots - result.released.length,
      deps.now(),
    );
    if (candidates.length === 0) break;
    for (const waiter of candidates) {
      const now = deps.now();
      if (!(await deps.waiters.claimWaiter(waiter.clientToken, now + RELEASE_CLAIM_MS, now))) continue;
      const read = readDlqMessage({
        Body: waiter.message.MessageBody,
        MessageAttributes: waiter.message.MessageAttributes,
      });
      if ((await deps.entries.get(waiter.clientToken)) !== undefined || read.failure === undefined) {
        await deps.waiters.removeWaiter(waiter.clientToken, waiter.parkedAt);
        result.dropped += 1;
        continue;
      }
      await deps.send(waiter.lane, toReplayMessage(read, { redriveCount: read.failure.redriveCount + 1 }));
      await deps.waiters.removeWaiter(waiter.clientToken, waiter.parkedAt);
      result.released.push(waiter.clientToken);
      if (result.released.length === slots) break;
    }
  }
  return result;
}
