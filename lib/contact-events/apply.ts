/**
 * Records one fact about a task (a contact event, a DescribeContact reading, our own StopContact) on
 * its ledger entry, with the effects it causes, in one conditional write.
 *
 * Input: the task's ClientToken (or its instance and ContactId, through the ledger's contact index) and
 * the fact. Output: `applied` with the effects written, `unchanged` (a repeat, or outranked by what the
 * entry holds), or `unknown` (no entry: a task ingest did not create, or not yet).
 *
 * Primary course: read the progress, fold the fact (progress.ts), and when it changed anything write the
 * new facts at the revision read. Effects are decided by the fold: `task.accepted` when the facts first
 * tell that an agent accepted the task (a CONNECTED_TO_AGENT fact, or a later fact naming the agent:
 * DISCONNECTED, COMPLETED or a DescribeContact reading, for a CONNECTED_TO_AGENT event may be dropped),
 * once, ahead of the fact's other effects; on COMPLETED's first arrival `task.completed` and one freed
 * slot (a release of the instance's oldest waiting event), and the task leaves the open tasks; DISCONNECTED without
 * COMPLETED → an early reconcile check, so a lost COMPLETED is found within minutes; a task closed by
 * our own StopContact alone keeps one check (ENDED_ON_OUR_CALL_CHECK_MS), so an agent whose events were
 * all lost is still learnt. A concurrent
 * writer makes the write fail: read again and retry (a few times, then ProgressConflictError).
 */
import type { ContactIndexLedger, ProgressLedger, TaskProgress } from '#lib/ledger/port.ts';
import { type Effect, publishEffect, releaseEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, type OutcomeData, wants } from '#lib/outcomes/outcome.ts';
import { ProgressConflictError } from './errors.ts';
import { type ContactFact, type ContactFacts, foldFact, type TaskView, viewOf } from './progress.ts';

/** A disconnected task's COMPLETED is looked for with DescribeContact this long after the disconnect. */
export const DISCONNECTED_CHECK_MS = 120_000;
/**
 * A task that closed on our own StopContact is read once with DescribeContact this long after, if
 * Connect's COMPLETED has not come by then: its agent and disconnect reason are Connect's to tell.
 */
export const ENDED_ON_OUR_CALL_CHECK_MS = 10 * 60_000;
const ATTEMPTS = 5;

export interface ApplyDeps {
  ledger: ProgressLedger & ContactIndexLedger;
  now: () => number;
}

export type ApplyOutcome =
  | { status: 'applied'; clientToken: string; effects: Effect[]; view: TaskView; closed: boolean }
  | { status: 'unchanged'; clientToken: string }
  | { status: 'unknown' };

/** Records a fact about the contact `contactId` of `instanceId`, found through the contact index. */
export async function applyContactFact(
  instanceId: string,
  contactId: string,
  fact: ContactFact,
  deps: ApplyDeps,
): Promise<ApplyOutcome> {
  const clientToken = await deps.ledger.tokenOfContact(instanceId, contactId);
  return clientToken === undefined ? { status: 'unknown' } : applyTaskFact(clientToken, fact, deps);
}

/** Records a fact about the task `clientToken`. */
export async function applyTaskFact(
  clientToken: string,
  fact: ContactFact,
  deps: ApplyDeps,
): Promise<ApplyOutcome> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    const progress = await deps.ledger.progress(clientToken);
    if (progress === undefined) return { status: 'unknown' };
    const folded = foldFact(progress.facts, fact);
    if (!folded.changed) return { status: 'unchanged', clientToken };
    const view = viewOf(folded.facts);
    const effects = [
      ...(acceptedBefore(progress) || !accepted(folded.facts, view)
        ? []
        : acceptedEffects(progress, fact, view)),
      ...(folded.first ? effectsOfFirst(progress, fact, view) : []),
    ];
    const closing = progress.closedAt === undefined && !view.open;
    const checkAt = view.open
      ? checkAfter(progress, fact, deps.now())
      : closing && endedOnOurCallAlone(folded.facts)
        ? deps.now() + ENDED_ON_OUR_CALL_CHECK_MS
        : undefined;
    const saved = await deps.ledger.saveProgress(clientToken, progress.rev, {
      instanceId: progress.entry.instanceId,
      facts: folded.facts,
      effects,
      now: deps.now(),
      ...(closing && view.completedAt !== undefined ? { closedAt: view.completedAt } : {}),
      ...(checkAt === undefined ? {} : { checkAt }),
    });
    if (saved) return { status: 'applied', clientToken, effects, view, closed: closing };
  }
  throw new ProgressConflictError(clientToken, ATTEMPTS);
}

/** A disconnected, not completed task is checked soon; otherwise the check stays where it is. */
function checkAfter(progress: TaskProgress, fact: ContactFact, now: number): number | undefined {
  if (fact.type !== 'DISCONNECTED') return undefined;
  const soon = now + DISCONNECTED_CHECK_MS;
  return progress.checkAt === undefined ? soon : Math.min(progress.checkAt, soon);
}

/**
 * True when the task's end is known only from our own call (a `complete` rule's StopContact): Connect's
 * COMPLETED has not arrived, and its events may all have been lost, the agent's with them.
 */
export function endedOnOurCallAlone(facts: ContactFacts): boolean {
  return facts.COMPLETED?.via === 'api';
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** True when the facts tell that an agent accepted the task: its CONNECTED_TO_AGENT, or the agent named. */
function accepted(facts: ContactFacts, view: TaskView = viewOf(facts)): boolean {
  return (
    facts.CONNECTED_TO_AGENT !== undefined || view.agentId !== undefined || view.connectedAt !== undefined
  );
}

/**
 * True when task.accepted was decided before: the facts named the agent, or it was published (a fact
 * of the same type that outranks one naming the agent may itself not name it).
 */
function acceptedBefore(progress: TaskProgress): boolean {
  return accepted(progress.facts) || progress.sent.some((s) => s.type === 'task.accepted');
}

/** What every outcome of the task carries. */
function baseData(progress: TaskProgress): OutcomeData {
  const { entry, notify } = progress;
  return {
    event: { source: entry.source, id: entry.eventId, idempotencyKey: entry.idempotencyKey },
    ruleId: entry.ruleId,
    instanceId: entry.instanceId,
    contactId: entry.contactId,
    ...(notify?.data === undefined ? {} : { mapped: notify.data }),
  };
}

/** The agent as the view names it, for task.accepted and task.completed. */
function agentData(view: TaskView): Pick<OutcomeData, 'agent'> {
  return view.agentId === undefined
    ? {}
    : {
        agent: {
          id: view.agentId,
          ...(view.connectedAt === undefined ? {} : { connectedAt: iso(view.connectedAt) as string }),
        },
      };
}

/** task.accepted, at the time the agent connected (else the fact's), when the rule asks for it. */
function acceptedEffects(progress: TaskProgress, fact: ContactFact, view: TaskView): Effect[] {
  const { entry, notify } = progress;
  if (!wants(notify, 'task.accepted')) return [];
  const data = { ...baseData(progress), ...agentData(view) };
  const at = view.connectedAt ?? fact.at;
  return [publishEffect(buildOutcome('task.accepted', [entry.clientToken], entry.contactId, at, data))];
}

/** The effects of a type's first arrival: COMPLETED's release and task.completed. */
function effectsOfFirst(progress: TaskProgress, fact: ContactFact, view: TaskView): Effect[] {
  const { entry, notify } = progress;
  if (fact.type !== 'COMPLETED') return [];
  const base = baseData(progress);
  const agent = agentData(view);
  const outcome = (data: OutcomeData) =>
    publishEffect(buildOutcome('task.completed', [entry.clientToken], entry.contactId, fact.at, data));
  const effects: Effect[] = [releaseEffect(entry.clientToken, entry.instanceId)];
  if (wants(notify, 'task.completed')) {
    const acw =
      view.acwStartAt === undefined && view.acwEndAt === undefined
        ? {}
        : { afterContactWork: { startedAt: iso(view.acwStartAt), endedAt: iso(view.acwEndAt) } };
    effects.push(
      outcome({
        ...base,
        ...agent,
        completion: {
          completedAt: iso(fact.at) as string,
          ...(view.disconnectedAt === undefined ? {} : { disconnectedAt: iso(view.disconnectedAt) }),
          ...(view.disconnectReason === undefined ? {} : { disconnectReason: view.disconnectReason }),
          ...acw,
        },
      }),
    );
  }
  return effects;
}
