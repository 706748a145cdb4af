/**
 * The sweep: performs the due scheduled transfers, each exactly once.
 *
 * Exactly once rests on two guards. The claim (a conditional update, see store/dynamo-store.ts) makes one sweep
 * the owner of an item; a second sweep that read the same item fails its claim and skips it. The
 * ClientToken `transferClientToken(contactId, planId)` is the second guard: if an owner crashes
 * after the call, the next owner (after the lease) repeats the call with the same token, and
 * Connect returns the first result instead of transferring again.
 *
 * Before any Connect call the per-contact limit is checked (a slot in the contact's counter is
 * reserved: the 12th transfer is refused), and DescribeContact must show an active TASK contact
 * (TransferContact API reference: "Transfer is supported for only TASK contacts", "can be called only on active
 * contacts"); otherwise the item FAILS with the reason and is never retried.
 *
 * Time: the sweep claims nothing when less than `minRemainingMs` of the invocation is left, and the
 * TransferContact budget slot is waited for before the claim, only while that wait still leaves
 * `minRemainingMs` (lib/retry/deadline.ts): an item whose slot would come too late is left PENDING,
 * unclaimed and with its attempts untouched, for the next sweep. (A slot taken for an item that then
 * turns out not to need it, claimed by another sweep or refused, goes unused.)
 */

import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { transferClientToken } from '#lib/idempotency/token.ts';
import type { Lane } from '#lib/lanes.ts';
import type { Logger } from '#lib/observability/logger.ts';
import { fullJitterSeconds } from '#lib/retry/backoff.ts';
import { type Deadline, deadlineErrorIn } from '#lib/retry/deadline.ts';
import { SweepError } from './errors.ts';
import {
  type CallFailure,
  type ContactSnapshot,
  classifyTransferError,
  type TransferGateway,
} from './gateway.ts';
import type { TransferItem, TransferStore } from './store/port.ts';

const TRANSFER_METRICS = {
  done: 'TransfersDone',
  failed: 'TransfersFailed',
  rescheduled: 'TransfersRescheduled',
  conflict: 'TransferConflicts',
} as const;

/** A Powertools `Metrics` fits this. */
export interface SweepMetrics {
  addMetric(name: string, unit: 'Count', value: number): void;
}

interface SweepPolicy {
  /** TransferContact API reference: "A contact cannot be transferred more than 11 times." */
  maxTransfersPerContact: number;
  /** Full-jitter backoff after a transient failure: random(0, min(max, base · 2^attempts)). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Attempts (transient failures) after which the item FAILS instead of being rescheduled. */
  maxAttempts: number;
  /**
   * No new item is claimed, and no budget slot waited for, when less Lambda time than this (plus the
   * wait) remains: what one item needs after its slot (DescribeContact, TransferContact, the writes).
   */
  minRemainingMs: number;
  /** Items read from the due index per query. */
  pageSize: number;
}

const DEFAULT_SWEEP_POLICY: Readonly<SweepPolicy> = Object.freeze({
  maxTransfersPerContact: DEFAULT_TASK_LIMITS.transfersPerContactMax,
  backoffBaseMs: 2_000,
  backoffMaxMs: 300_000,
  maxAttempts: 10,
  minRemainingMs: 10_000,
  pageSize: 25,
});

export interface SweepDeps {
  store: TransferStore;
  gateway: TransferGateway;
  /**
   * Shapes TransferContact calls to TRANSFER_RATE (the budget, lib/budget/budget.ts); rejects with
   * `DeadlineError` when the slot would come later than the deadline allows.
   */
  limiter: { acquire(lane?: Lane, deadline?: Deadline): Promise<void>; throttled?(): void };
  /** The time in epoch ms: which plans are due, lease expiry (the sandbox's movable clock there). */
  now: () => number;
  /** This sweep's identity in leases (e.g. the Lambda request id). */
  owner: string;
  /** How long a claim holds an item; longer than one item's work. */
  leaseMs: number;
  /** Lambda `context.getRemainingTimeInMillis`. */
  remainingTimeMs: () => number;
  metrics?: SweepMetrics;
  /** Only ids, counts and error codes are logged, never task contents. */
  logger?: Logger;
  /** [0, 1); injectable for tests. */
  random?: () => number;
  policy?: Partial<SweepPolicy>;
}

export interface SweepOptions {
  /** Claim at most this many items in this run. */
  max?: number;
}

export interface SweepSummary {
  claimed: number;
  done: number;
  /** Includes conflicts. */
  failed: number;
  rescheduled: number;
  /** Items another sweep claimed first. */
  skipped: number;
  /** Items whose processing threw (store unavailable, ...); their lease expires and they come back. */
  errors: number;
  /** True when the run stopped because Lambda time ran short or `max` was reached. */
  stoppedEarly: boolean;
}

/** `deferred`: not attempted, its budget slot would have come too late; left PENDING, unclaimed. */
export type TransferOutcome = 'done' | 'failed' | 'conflict' | 'rescheduled' | 'skipped' | 'deferred';

function resolvePolicy(partial: Partial<SweepPolicy> | undefined): SweepPolicy {
  return { ...DEFAULT_SWEEP_POLICY, ...partial };
}

/**
 * Full jitter (lib/retry/backoff.ts): a random delay in [0, min(max, base · 2^attempts)], whole
 * seconds, at least one second so a rescheduled item is never due again within the same sweep.
 */
function transferBackoffMs(attempts: number, policy: SweepPolicy, random: () => number): number {
  const seconds = fullJitterSeconds(
    attempts,
    policy.backoffBaseMs / 1000,
    policy.backoffMaxMs / 1000,
    random,
  );
  return Math.max(1, seconds) * 1000;
}

function reasonOf(failure: CallFailure): string {
  return `${failure.code}: ${failure.message}`;
}

/** Why a contact cannot be transferred, or undefined when it can (an active TASK). */
function contactRefusal(contact: ContactSnapshot): string | undefined {
  if (contact.channel !== 'TASK') {
    return `ContactNotTask: channel is ${contact.channel ?? 'unknown'}; TransferContact supports TASK contacts only`;
  }
  if (contact.disconnectedAt !== undefined) {
    return `ContactEnded: the contact ended at ${new Date(contact.disconnectedAt).toISOString()}; TransferContact needs an active contact`;
  }
  return undefined;
}

/**
 * Use case: perform one transfer item, if this caller can claim it.
 *
 * Input: the sweep's dependencies and an item read from the store (due, or with an expired lease).
 * Output: what happened — `done`, `failed`, `conflict`, `rescheduled`, or `skipped` (someone else
 * holds it, or it is no longer claimable).
 * Primary course: wait for the budget's slot (within the invocation's time, else `deferred`) →
 * claim → reserve a transfer slot (12th refused) → DescribeContact (active TASK) → TransferContact
 * with the deterministic ClientToken → DONE with the result. Transient errors put the item back to PENDING with full-jitter backoff (FAILED after
 * `maxAttempts`); refusals FAIL it with the reason; 409 IdempotencyException FAILS it as a conflict.
 */
export async function performTransfer(deps: SweepDeps, item: TransferItem): Promise<TransferOutcome> {
  return perform(deps, resolvePolicy(deps.policy), item);
}

/** The TransferContact slot, within the invocation's time; false when it would come too late. */
async function slotInTime(deps: SweepDeps, policy: SweepPolicy): Promise<boolean> {
  const deadline: Deadline = { remainingMs: deps.remainingTimeMs, marginMs: policy.minRemainingMs };
  try {
    await deps.limiter.acquire(undefined, deadline);
    return true;
  } catch (error) {
    if (deadlineErrorIn(error) === undefined) throw error;
    return false;
  }
}

async function perform(deps: SweepDeps, policy: SweepPolicy, item: TransferItem): Promise<TransferOutcome> {
  const { store, gateway, owner } = deps;
  const ids = { contactId: item.contactId, planId: item.planId };
  if (!(await slotInTime(deps, policy))) return 'deferred';
  if (!(await store.claim(item, owner, deps.leaseMs, deps.now()))) return 'skipped';

  const settle = async (ok: boolean, outcome: TransferOutcome): Promise<TransferOutcome> => {
    if (!ok) deps.logger?.warn('transfer lease lost before the outcome was recorded', { ...ids, outcome });
    const metric =
      outcome === 'done'
        ? TRANSFER_METRICS.done
        : outcome === 'rescheduled'
          ? TRANSFER_METRICS.rescheduled
          : outcome === 'conflict'
            ? TRANSFER_METRICS.conflict
            : TRANSFER_METRICS.failed;
    deps.metrics?.addMetric(metric, 'Count', 1);
    return outcome;
  };
  const fail = async (reason: string, releaseSlot: boolean): Promise<TransferOutcome> => {
    if (releaseSlot) await store.releaseTransferSlot(item.contactId, item.planId, deps.now());
    deps.logger?.info('transfer failed', { ...ids, reason: reason.split(':', 1)[0] });
    return settle(await store.fail(item, owner, reason, deps.now()), 'failed');
  };
  const retryOrFail = async (failure: CallFailure): Promise<TransferOutcome> => {
    const attempts = item.attempts + 1;
    if (attempts >= policy.maxAttempts) {
      // The slot stays taken: an attempt with an unknown outcome may have transferred the contact.
      return fail(`RetriesExhausted: ${attempts} attempts; last ${reasonOf(failure)}`, false);
    }
    const now = deps.now();
    const dueAt = now + transferBackoffMs(item.attempts, policy, deps.random ?? Math.random);
    deps.logger?.info('transfer rescheduled', { ...ids, code: failure.code, attempts, dueAt });
    return settle(await store.reschedule(item, owner, dueAt, reasonOf(failure), now), 'rescheduled');
  };

  const reserved = await store.reserveTransferSlot(
    item.contactId,
    item.planId,
    policy.maxTransfersPerContact,
    deps.now(),
  );
  if (!reserved) {
    return fail(
      `TransferLimitReached: the contact already has ${policy.maxTransfersPerContact} transfers; a contact cannot be transferred more than ${policy.maxTransfersPerContact} times`,
      false,
    );
  }

  let contact: ContactSnapshot;
  try {
    contact = await gateway.describeContact(item.instanceId, item.contactId);
  } catch (error) {
    const failure = classifyTransferError(error);
    if (failure.action === 'retry') return retryOrFail(failure);
    return fail(`DescribeContact ${reasonOf(failure)}`, true);
  }
  const refusal = contactRefusal(contact);
  if (refusal !== undefined) return fail(refusal, true);

  let result: { ContactId: string; ContactArn: string };
  try {
    result = await gateway.transferContact({
      instanceId: item.instanceId,
      contactId: item.contactId,
      contactFlowId: item.contactFlowId,
      clientToken: transferClientToken(item.contactId, item.planId),
      ...(item.queueId !== undefined ? { queueId: item.queueId } : {}),
      ...(item.userId !== undefined ? { userId: item.userId } : {}),
    });
  } catch (error) {
    const failure = classifyTransferError(error);
    // The account's TransferContact bucket said no: the shared budget shrinks (lib/budget/).
    if (failure.code === 'ThrottlingException') deps.limiter.throttled?.();
    if (failure.action === 'retry') return retryOrFail(failure);
    if (failure.action === 'conflict') {
      // The token was already used with other parameters: a transfer may have happened; keep the slot.
      deps.metrics?.addMetric(TRANSFER_METRICS.failed, 'Count', 1);
      return settle(await store.fail(item, owner, `Conflict: ${reasonOf(failure)}`, deps.now()), 'conflict');
    }
    return fail(`TransferContact ${reasonOf(failure)}`, true);
  }
  return settle(await store.complete(item, owner, result, deps.now()), 'done');
}

/**
 * Use case: the scheduled sweep.
 *
 * Input: the dependencies (store, gateway, rate limiter, clock, lease owner and duration, Lambda
 * remaining time, optional metrics/logger) and optionally the most items to claim.
 * Output: counts of what happened.
 * Primary course: read due items page by page (PENDING and due, or CLAIMED with an expired lease),
 * and perform each one in turn (`performTransfer`), until the index is exhausted, `max` items were
 * claimed, or less than `minRemainingMs` of Lambda time is left (before a claim, or after the budget
 * slot an item would wait for). One item's unexpected error is
 * logged and counted; its lease expires and a later sweep takes it again.
 */
export async function runSweep(deps: SweepDeps, opts: SweepOptions = {}): Promise<SweepSummary> {
  const policy = resolvePolicy(deps.policy);
  const max = opts.max ?? Number.POSITIVE_INFINITY;
  const summary: SweepSummary = {
    claimed: 0,
    done: 0,
    failed: 0,
    rescheduled: 0,
    skipped: 0,
    errors: 0,
    stoppedEarly: false,
  };
  const sweepNow = deps.now();
  const timeShort = () => deps.remainingTimeMs() < policy.minRemainingMs;
  let cursor: string | undefined;
  do {
    if (timeShort() || summary.claimed >= max) {
      summary.stoppedEarly = true;
      break;
    }
    const page = await deps.store.queryDue(sweepNow, policy.pageSize, cursor);
    for (const item of page.items) {
      if (timeShort() || summary.claimed >= max) {
        summary.stoppedEarly = true;
        return summary;
      }
      let outcome: TransferOutcome;
      try {
        outcome = await perform(deps, policy, item);
      } catch (error) {
        summary.errors += 1;
        deps.logger?.error('transfer processing failed; the item comes back when its lease expires', {
          error: new SweepError(`transfer ${item.contactId}/${item.planId} failed`, { cause: error }),
        });
        continue;
      }
      if (outcome === 'deferred') {
        summary.stoppedEarly = true;
        return summary;
      }
      if (outcome === 'skipped') {
        summary.skipped += 1;
        continue;
      }
      summary.claimed += 1;
      if (outcome === 'done') summary.done += 1;
      else if (outcome === 'rescheduled') summary.rescheduled += 1;
      else summary.failed += 1;
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return summary;
}
