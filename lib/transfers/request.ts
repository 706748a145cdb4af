/**
 * Event-requested transfers: schedule the transfer an EventBridge event (or ops) asks for.
 */
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { LedgerStore } from '#lib/ledger/port.ts';
import { TransferPlanError } from './errors.ts';
import { parseTransferDetail, requestFromEvent } from './plan.ts';
import type { ScheduleOutcome, TransferItem, TransferStore } from './store/port.ts';

export interface AcceptTransferDeps {
  store: TransferStore;
  /** Needed only for requests that name the contact by source + idempotencyKey. */
  ledger?: LedgerStore;
  now: () => number;
}

export interface AcceptedTransfer {
  /** The item as requested (when `scheduled` is `exists`, the stored one may have moved on). */
  item: TransferItem;
  scheduled: ScheduleOutcome;
  /** True when the transfer is due now (no `at`, or `at` in the past). */
  dueNow: boolean;
}

/**
 * Use case: accept a transfer request.
 *
 * Input: the EventBridge `detail` ({instanceId, contactId | source + idempotencyKey, queueId | userId,
 * contactFlowId, at?, requestId?}).
 * Output: the transfer item, whether it was newly scheduled, and whether it is due now.
 * Primary course: validate the detail; when the contact is named by the event that created its task,
 * find that task in the ledger by `taskClientToken(instanceId, source, idempotencyKey)`; build the
 * item with its deterministic plan id and schedule it (a redelivered request writes nothing).
 */
export async function acceptTransferRequest(
  deps: AcceptTransferDeps,
  detail: unknown,
): Promise<AcceptedTransfer> {
  const parsed = parseTransferDetail(detail);
  let contactId = parsed.contactId;
  if (contactId === undefined) {
    const { source, idempotencyKey } = parsed;
    if (!deps.ledger || source === undefined || idempotencyKey === undefined) {
      throw new TransferPlanError('no ledger to resolve the transfer target', 'UnresolvedTransferTarget');
    }
    const entry = await deps.ledger.get(taskClientToken(parsed.instanceId, source, idempotencyKey));
    if (!entry || entry.instanceId !== parsed.instanceId) {
      throw new TransferPlanError(
        'no task was recorded for that source and idempotency key in this instance',
        'TransferTargetNotFound',
      );
    }
    contactId = entry.contactId;
  }
  const { source: _source, idempotencyKey: _key, ...rest } = parsed;
  const now = deps.now();
  const item = requestFromEvent({ ...rest, contactId }, now);
  const scheduled = await deps.store.schedule(item);
  return { item, scheduled, dueNow: item.dueAt <= now };
}
