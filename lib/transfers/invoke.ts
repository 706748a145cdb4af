/**
 * What the transfer function does with one invocation: the scheduled sweep, or one transfer request.
 */
import { isNonNegativeInteger, isObject } from '#lib/guards.ts';
import type { LedgerStore } from '#lib/ledger/port.ts';
import { TransferInvocationError } from './errors.ts';
import { acceptTransferRequest } from './request.ts';
import type { ScheduleOutcome } from './store/port.ts';
import {
  performTransfer,
  runSweep,
  type SweepDeps,
  type SweepSummary,
  type TransferOutcome,
} from './sweep.ts';

export type TransferInvocationResult =
  | { kind: 'sweep'; summary: SweepSummary }
  | {
      kind: 'request';
      contactId: string;
      planId: string;
      scheduled: ScheduleOutcome;
      dueAt: number;
      /** Present when the transfer was due and this invocation tried it. */
      outcome?: TransferOutcome;
    };

export interface TransferInvocationDeps extends SweepDeps {
  ledger?: LedgerStore;
}

/**
 * Use case: handle one invocation of the transfer function.
 *
 * Input: `{action: 'sweep', max?}` from the schedule, or an EventBridge event whose `detail` is a
 * transfer request (see `transferEventDetailSchema` in plan.ts).
 * Output: the sweep summary, or what happened to the request.
 * Primary course: a sweep runs `runSweep`; a request is validated, resolved (ledger) and scheduled
 * (idempotently), and when it is already due (`at` absent or past) it is performed at once — with
 * the same claim as the sweep, so a sweep running at the same moment cannot transfer it twice.
 */
export async function handleTransferInvocation(
  deps: TransferInvocationDeps,
  event: unknown,
): Promise<TransferInvocationResult> {
  if (!isObject(event)) throw new TransferInvocationError('transfer function input must be a JSON object');
  if (event.action === 'sweep') {
    const max = event.max;
    if (max !== undefined && !isNonNegativeInteger(max)) {
      throw new TransferInvocationError('sweep "max" must be a non-negative integer');
    }
    return { kind: 'sweep', summary: await runSweep(deps, max === undefined ? {} : { max }) };
  }
  if (event.action !== undefined) {
    throw new TransferInvocationError(
      'unknown action; expected {"action":"sweep"} or an event with a "detail"',
    );
  }
  if (!('detail' in event)) {
    throw new TransferInvocationError('expected {"action":"sweep"} or an EventBridge event with a "detail"');
  }
  const accepted = await acceptTransferRequest(
    { store: deps.store, now: deps.now, ...(deps.ledger ? { ledger: deps.ledger } : {}) },
    event.detail,
  );
  const { item } = accepted;
  const result: TransferInvocationResult = {
    kind: 'request',
    contactId: item.contactId,
    planId: item.planId,
    scheduled: accepted.scheduled,
    dueAt: item.dueAt,
  };
  if (accepted.dueNow) result.outcome = await performTransfer(deps, item);
  return result;
}
