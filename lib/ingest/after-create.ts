/**
 * What ingest records once a task exists, and the `transfer` rule action.
 *
 * afterCreate runs on the fresh path AND on the duplicate path (a redelivery or replay whose task
 * already exists), because a crash may have happened between the task and these writes. Both writes
 * are conditional puts, so doing them again changes nothing.
 *
 * A task chained by PreviousContactId is counted in its chain (lib/ledger/port.ts) only when its
 * ledger entry was newly created: a redelivery, a duplicate or a replay finds the entry and counts
 * nothing. A crash between the entry and the count leaves the chain counted one short: a full chain may
 * then be taken for the active-task quota (OVER_QUOTA, the old behaviour), never the reverse.
 */
import { transferRequestId } from '#lib/idempotency/ids.ts';
import type { ChainLedger, LedgerStore } from '#lib/ledger/port.ts';
import { TransferPlanError } from '#lib/transfers/errors.ts';
import { planFromRule } from '#lib/transfers/plan.ts';
import { acceptTransferRequest } from '#lib/transfers/request.ts';
import type { TransferStore } from '#lib/transfers/store/port.ts';
import { IngestRefusalError, IngestRetryError } from './errors.ts';
import { type IngestOutcomes, newEntryState } from './outcomes.ts';
import type { AfterCreate, TransferRequester } from './ports.ts';

/** Deliveries during which a transfer's target may still be on its way (the creating event not yet ingested). */
const TRANSFER_TARGET_GRACE_RECEIVES = 3;

export function createAfterCreate(deps: {
  /** A ledger without chain counters (a fake, say) records entries and counts no chain. */
  ledger: LedgerStore & Partial<ChainLedger>;
  transfers: TransferStore;
  now: () => number;
  /** The outbox: the task.created outcome is published at once (absent: outcomes are not recorded). */
  outcomes?: IngestOutcomes;
}): AfterCreate {
  return async ({ entry, rule, transferAt, notify }) => {
    const state = newEntryState(entry, notify, deps.now());
    const written = await deps.ledger.put(entry, state);
    if (written === 'created' && entry.previousContactId !== undefined) {
      await deps.ledger.countChainTask?.(entry.instanceId, entry.previousContactId, entry.createdAt);
    }
    if (deps.outcomes) {
      // The entry's effects were written with it; a duplicate finds what a crashed first pass left.
      const effects =
        written === 'created'
          ? (state.effects ?? [])
          : await deps.outcomes.outbox.pendingEffects(entry.clientToken);
      if (effects.length > 0) await deps.outcomes.drain(entry.clientToken, effects);
    }
    const plan = rule.rule.action === 'create' ? rule.rule.transfer : undefined;
    if (!plan) return;
    const item = planFromRule(plan, {
      contactId: entry.contactId,
      instanceId: entry.instanceId,
      createdAt: entry.createdAt,
      ...(transferAt === undefined ? {} : { at: transferAt }),
    });
    await deps.transfers.schedule(item);
  };
}

export function createTransferRequester(deps: {
  ledger: LedgerStore;
  transfers: TransferStore;
  now: () => number;
}): TransferRequester {
  return async ({ rule: compiled, envelope, receiveCount }) => {
    const rule = compiled.rule;
    if (rule.action !== 'transfer' || !compiled.transferRequest) {
      throw new IngestRefusalError('InvalidRule', `rule "${rule.ruleId}" is not a transfer rule`);
    }
    const targetKey = await compiled.transferRequest.targetKey.evaluate(envelope);
    if (typeof targetKey !== 'string' && typeof targetKey !== 'number') {
      throw new IngestRefusalError(
        'MappingFailed',
        `transferRequest.targetKey of rule "${rule.ruleId}" produced no string value`,
      );
    }
    const at = compiled.transferRequest.at ? await compiled.transferRequest.at.evaluate(envelope) : undefined;
    if (at !== undefined && typeof at !== 'string' && typeof at !== 'number') {
      throw new IngestRefusalError(
        'MappingFailed',
        `transferRequest.at of rule "${rule.ruleId}" is not a time`,
      );
    }
    const request = rule.transferRequest;
    try {
      const accepted = await acceptTransferRequest(
        { store: deps.transfers, ledger: deps.ledger, now: deps.now },
        {
          instanceId: rule.instanceId,
          source: envelope.source,
          idempotencyKey: String(targetKey),
          contactFlowId: request.contactFlowId,
          ...(request.queueId ? { queueId: request.queueId } : {}),
          ...(request.userId ? { userId: request.userId } : {}),
          ...(at === undefined ? {} : { at }),
          // One requesting event, one transfer: a redelivery of it maps to the same plan id.
          requestId: transferRequestId(envelope.source, envelope.id),
        },
      );
      return {
        contactId: accepted.item.contactId,
        planId: accepted.item.planId,
        scheduled: accepted.scheduled,
      };
    } catch (error) {
      // The task this event asks to move may not be ingested yet: give it a few deliveries.
      if (
        error instanceof TransferPlanError &&
        error.code === 'TransferTargetNotFound' &&
        receiveCount < TRANSFER_TARGET_GRACE_RECEIVES
      ) {
        // No `cause`: the permanent TransferPlanError under it would classify the retry as PERMANENT.
        throw new IngestRetryError('TransferTargetNotFound', error.message);
      }
      throw error;
    }
  };
}
