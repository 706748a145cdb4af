/**
 * The active-task gate: before StartTaskContact, ingest takes one of the instance's active-task slots
 * from the service's shared count (lib/ledger/port.ts `SlotLedger`, one item per instance, shared by
 * every function instance). When all ACTIVE_TASK_QUOTA slots are taken, the event is parked
 * OVER_QUOTA with a waiter at once, without the call Connect would refuse with 402; a freed slot
 * brings it back (release.ts). A slot is given back when no task came of the call (an error, a 402,
 * a duplicate) and when the task ends (the release effect); the contact events sweep sets the count
 * from the ledger's open tasks every minute, so a lost update heals.
 *
 * The count is only as good as the contact events that close tasks: when they are lost, ended tasks
 * stay in it until the reconcile sweep reads them. So the gate never stands between Connect and an
 * event coming back (a release or a redrive replay): that one takes a slot anyway and Connect decides.
 * And a count above the quota (Connect created tasks the count said could not fit) is known stale:
 * events go to Connect until the sweep has set it again.
 */
import type { SlotLedger } from '#lib/ledger/port.ts';
import { ActiveTasksAtQuotaError } from './errors.ts';

/** A slot taken for one StartTaskContact call. */
interface Slot {
  /** Gives the slot back: no task came of the call (an error, a 402, a duplicate). Never throws. */
  giveBack(): Promise<void>;
}

export interface CapacityGate {
  /**
   * Takes a slot of the instance, or throws ActiveTasksAtQuotaError. An event coming back from the
   * DLQ (`replay`) takes one anyway.
   */
  take(instanceId: string, event: { replay: boolean }): Promise<Slot>;
}

export function createCapacityGate(options: { slots: SlotLedger; quota: number }): CapacityGate {
  const { slots, quota } = options;
  const slot = (instanceId: string): Slot => ({
    giveBack: () => slots.freeSlot(instanceId).catch(() => undefined),
  });
  return {
    async take(instanceId, { replay }) {
      const first = await slots.takeSlot(instanceId, quota, false);
      if (first.taken) return slot(instanceId);
      if (!replay && first.used <= quota) throw new ActiveTasksAtQuotaError(instanceId, first.used, quota);
      await slots.takeSlot(instanceId, quota, true);
      return slot(instanceId);
    },
  };
}
