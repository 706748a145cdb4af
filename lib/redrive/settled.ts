/**
 * Whether an OVER_QUOTA message in the DLQ still waits for anything: a freed slot may already have
 * sent its event back (lib/capacity/release.ts) while this copy stayed in the DLQ as the timer's
 * fallback. The scheduled redrive deletes such a copy instead of replaying it:
 * - `created`: the task of its ClientToken exists (the released copy made it);
 * - `newer`: its event parked again since (a released copy met the quota once more): a newer copy,
 *   with its own waiter, stands for it.
 * Undefined: it still waits, and the timer applies.
 */
import type { LedgerStore, WaiterLedger } from '#lib/ledger/port.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import type { FailureRecord } from '#lib/retry/failure-record.ts';

export type SettledReason = 'created' | 'newer';

export type SettledCheck = (failure: FailureRecord) => Promise<SettledReason | undefined>;

/** The check over the ledger: the task's entry, then its waiter's newest park. */
export function ledgerSettledCheck(
  ledger: Pick<LedgerStore, 'get'> & Pick<WaiterLedger, 'getWaiter'>,
): SettledCheck {
  return async (failure) => {
    const token = failure.clientToken;
    if (failure.class !== 'OVER_QUOTA' || token === undefined) return undefined;
    if ((await ledger.get(token)) !== undefined) return 'created';
    const waiter = await ledger.getWaiter(token);
    if (waiter === undefined) return undefined;
    const latest = readDlqMessage({
      Body: waiter.message.MessageBody,
      MessageAttributes: waiter.message.MessageAttributes,
    }).failure?.lastFailureAt;
    return latest !== undefined && Date.parse(latest) > Date.parse(failure.lastFailureAt)
      ? 'newer'
      : undefined;
  };
}

/** The reason a deleted copy is given in the redrive's summary. */
export function settledText(reason: SettledReason): string {
  return reason === 'created'
    ? 'its task exists (a freed slot sent its event back): deleted, not replayed'
    : 'its event parked again since: the newer copy stands for it, this one is deleted';
}
