/**
 * The contact events sweep (the contactEvents function's schedule, every minute): nothing stays
 * pending, and nothing stays open forever.
 *
 * 1. **The outbox.** Effects a writer recorded but did not acknowledge within OUTBOX_GRACE_MS (it
 *    crashed, PutEvents refused an entry, a release failed) are performed again.
 * 2. **Open tasks due a check.** A task whose terminal contact event has not arrived is read with
 *    DescribeContact (paced by its own budget) and what Connect says is folded in as facts
 *    (apply.ts), so a lost COMPLETED closes the task and frees its slot. A still-open task is checked
 *    again later, less often as it ages. A contact Connect does not know (after a grace) is closed as
 *    `CONTACT_NOT_FOUND`.
 *
 * 3. **Tasks ended on our own call alone.** A task a `complete` rule's StopContact closed, whose
 *    COMPLETED from Connect has not come within ENDED_ON_OUR_CALL_CHECK_MS, is read once with
 *    DescribeContact: its events may all have been lost, and with them the agent who accepted it
 *    (task.accepted) and how it really ended. It waits for this in the outbox partition, not among the
 *    open tasks: its slot is already free.
 *
 * 4. **The slot counts** of the active-task gate (lib/capacity/gate.ts) are set from the open tasks.
 *
 * Everything is found through the ledger's pending index, soonest first, a bounded number per run; the
 * run stops before the invocation's time runs out (the rest waits for the next run).
 */

import { OUTCOME_KEY_PREFIX } from '#lib/idempotency/token.ts';
import { OUTBOX_PARTITION, openPartition } from '#lib/ledger/codec.ts';
import type {
  ContactIndexLedger,
  OutboxLedger,
  PendingLedger,
  ProgressLedger,
  SlotLedger,
  TaskProgress,
} from '#lib/ledger/port.ts';
import type { Logger } from '#lib/observability/logger.ts';
import type { DrainResult } from '#lib/outcomes/drain.ts';
import type { Effect } from '#lib/outcomes/effects.ts';
import { applyTaskFact, endedOnOurCallAlone } from './apply.ts';
import { type ContactDescriber, DESCRIBE_REF } from './describe.ts';
import { type ContactFact, viewOf } from './progress.ts';

/** An open task is first checked this long after its creation if no terminal event came. */
export const FIRST_CHECK_MS = 3_600_000;
/** Then again after half its age, between these bounds. */
const MIN_RECHECK_MS = 15 * 60_000;
const MAX_RECHECK_MS = 12 * 3_600_000;
/** A disconnected task in after-contact work is checked again this soon. */
const AFTER_WORK_RECHECK_MS = 5 * 60_000;
/** DescribeContact may not know a contact just created; it is closed as not found only after this. */
const NOT_FOUND_GRACE_MS = 10 * 60_000;
/** The run stops when the invocation has less than this left. */
const TIME_MARGIN_MS = 5_000;

export interface SweepDeps {
  ledger: PendingLedger & ProgressLedger & OutboxLedger & ContactIndexLedger & SlotLedger;
  describe: ContactDescriber;
  /** The stage's instances (CONNECT_INSTANCE_IDS). */
  instanceIds: readonly string[];
  drain(key: string, effects: readonly Effect[]): Promise<DrainResult>;
  now: () => number;
  remainingTimeMs?: () => number;
  log: Pick<Logger, 'warn'>;
  /**
   * Items read per partition per run.
   * @default 100
   */
  limit?: number;
}

export interface SweepSummary {
  /** Items whose left effects were performed again. */
  drained: number;
  /** Effects still left after this run. */
  effectsLeft: number;
  /** Open tasks read with DescribeContact. */
  checked: number;
  /** Tasks the checks found ended (closed). */
  closed: number;
  /** Tasks ended on our own StopContact alone, read once (counted in `checked` too). */
  confirmed: number;
  /** Tasks closed because Connect does not know the contact. */
  notFound: number;
  /** Open tasks per instance after the run. */
  openTasks: Record<string, number>;
  stoppedBy: 'done' | 'time';
}

/** The next check of an open task: soon in after-contact work, else after half its age (bounded). */
function nextCheckAt(progress: TaskProgress, now: number): number {
  if (viewOf(progress.facts).state === 'DISCONNECTED') return now + AFTER_WORK_RECHECK_MS;
  const halfAge = (now - progress.entry.createdAt) / 2;
  return now + Math.min(MAX_RECHECK_MS, Math.max(MIN_RECHECK_MS, halfAge));
}

interface Run {
  deps: SweepDeps;
  summary: SweepSummary;
}

const outOfTime = ({ deps }: Run) => (deps.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) < TIME_MARGIN_MS;

async function drainLeft(run: Run, key: string): Promise<void> {
  const effects = await run.deps.ledger.pendingEffects(key);
  if (effects.length === 0) {
    await run.deps.ledger.settle(key);
    return;
  }
  const { left } = await run.deps.drain(key, effects);
  run.summary.drained += 1;
  run.summary.effectsLeft += left;
}

/** Folds facts into the task, performing the effects each causes. */
async function fold(run: Run, key: string, facts: readonly ContactFact[]): Promise<void> {
  const { deps, summary } = run;
  for (const fact of facts) {
    const out = await applyTaskFact(key, fact, { ledger: deps.ledger, now: deps.now });
    if (out.status !== 'applied') continue;
    if (out.closed) summary.closed += 1;
    if (out.effects.length > 0) summary.effectsLeft += (await deps.drain(key, out.effects)).left;
  }
}

/** Reads the task with DescribeContact and folds in what Connect says. */
async function check(run: Run, key: string, progress: TaskProgress): Promise<void> {
  const { deps, summary } = run;
  const { entry } = progress;
  const described = await deps.describe(entry.instanceId, entry.contactId);
  summary.checked += 1;
  const now = deps.now();
  const facts = described.found
    ? described.facts
    : now - entry.createdAt < NOT_FOUND_GRACE_MS
      ? []
      : [
          {
            type: 'COMPLETED' as const,
            at: now,
            ref: DESCRIBE_REF,
            via: 'reconcile' as const,
            disconnectReason: 'CONTACT_NOT_FOUND',
          },
        ];
  if (!described.found && facts.length > 0) summary.notFound += 1;
  await fold(run, key, facts);
  const after = await deps.ledger.progress(key);
  if (after !== undefined && after.closedAt === undefined)
    await deps.ledger.deferCheck(key, nextCheckAt(after, deps.now()));
}

/**
 * The one reading of a task ended on our own call: what Connect says is folded in (the agent, the real
 * disconnect reason; the task stays closed), unless Connect's own COMPLETED came meanwhile. Then the
 * check is dropped and the task leaves the index.
 */
async function confirm(run: Run, key: string, progress: TaskProgress): Promise<void> {
  const { deps, summary } = run;
  if (endedOnOurCallAlone(progress.facts)) {
    const described = await deps.describe(progress.entry.instanceId, progress.entry.contactId);
    summary.checked += 1;
    summary.confirmed += 1;
    if (described.found) await fold(run, key, described.facts);
  }
  await deps.ledger.dropCheck(key);
  await deps.ledger.settle(key);
}

/**
 * One due task: the effects a writer left, then its check (open) or its one reading (ended on our own
 * call), else it goes back to waiting (or leaves the index).
 */
async function visit(run: Run, key: string): Promise<void> {
  const { deps } = run;
  const progress = await deps.ledger.progress(key);
  if (progress === undefined) return;
  if (progress.pending > 0) await drainLeft(run, key);
  const due = progress.checkAt !== undefined && progress.checkAt <= deps.now();
  if (due && progress.closedAt === undefined) await check(run, key, progress);
  else if (due) await confirm(run, key, progress);
  else if (progress.pending === 0) await deps.ledger.settle(key);
}

/** The due items of one partition of the pending index, soonest first, while the invocation has time. */
async function sweepPartition(run: Run, partition: string, limit: number): Promise<void> {
  const { deps } = run;
  for (const key of await deps.ledger.duePending(partition, deps.now(), limit)) {
    if (outOfTime(run)) {
      run.summary.stoppedBy = 'time';
      return;
    }
    // A rejection's item holds effects only; everything else is a task.
    if (key.startsWith(OUTCOME_KEY_PREFIX)) await drainLeft(run, key);
    else await visit(run, key);
  }
}

export async function runContactSweep(deps: SweepDeps): Promise<SweepSummary> {
  const limit = deps.limit ?? 100;
  const run: Run = {
    deps,
    summary: {
      drained: 0,
      effectsLeft: 0,
      checked: 0,
      closed: 0,
      confirmed: 0,
      notFound: 0,
      openTasks: {},
      stoppedBy: 'done',
    },
  };
  await sweepPartition(run, OUTBOX_PARTITION, limit);
  if (run.summary.stoppedBy === 'time') return run.summary;
  for (const instanceId of deps.instanceIds) {
    if (run.summary.stoppedBy === 'done') await sweepPartition(run, openPartition(instanceId), limit);
    const open = await deps.ledger.openTasks(instanceId);
    run.summary.openTasks[instanceId] = open;
    // The active-task slot count (lib/capacity/gate.ts) from the truth it caches.
    await deps.ledger.setSlots(instanceId, open);
  }
  return run.summary;
}
