/**
 * The `update` and `complete` rule actions: the lifecycle of a task an earlier event created.
 *
 * The task is found in the ledger by `taskClientToken(instanceId, source, key)`, where `key` is the
 * rule's `correlationKey` over the event, or, when the rule has none, the `idempotencyKey` expression of
 * the source's create rule for the same instance (the first by priority then ruleId, enabled rules
 * first; no expression there: the envelope id) evaluated over this event.
 *
 * Order and duplicates (a standard queue reorders and redelivers):
 * - no ledger entry yet (the create is still on its way): TRANSIENT `TaskNotFound`; ingest sends the
 *   message back to wait for it with the transient backoff, counting the waits apart from its failed
 *   attempts (receives.ts); on the wait `taskWaitReceive` (7 of 10) it is parked PERMANENT
 *   `TaskNotFound` with its reason; `dlq replay` gives it the same wait again;
 * - an update carries its envelope `time`; the ledger keeps the newest applied update's time and id,
 *   and an update whose (time, id) is not newer than that (or than the event holding the lease) is
 *   stale: success, nothing called. The same event again is a duplicate: success, nothing called;
 * - a complete is final: once applied, updates are stale and completes duplicates;
 * - the event being applied holds a lease on the entry (a conditional write on the entry's `rev`), so
 *   two deliveries of one task never call Connect at once: another event, or another message of the
 *   same event (an upstream duplicate), that finds a live lease waits for it in the invocation (up
 *   to BUSY_WAIT_MS, and only when the invocation's deadline leaves that wait and its margin; else
 *   the event is not attempted), then gives up the receive (TRANSIENT `TaskBusy`); the
 *   holder's own retry (same SQS message) takes it back, and a lease whose holder died expires after
 *   `leaseMs`; its event's time still counts as applied (its call may have reached Connect).
 * - StopContact answering ContactNotFoundException (410: the contact is not active or does not exist:
 *   it ended, by an agent, by expiry, or by an earlier attempt of this event) is success.
 * - a completed task's transfer plans that have not run (PENDING) are cancelled, on the duplicate
 *   path too, so a crash between the ledger commit and the cancel leaves nothing pending.
 * Connect errors are classified like any other (lib/retry/classify.ts); a failed call releases the lease.
 */

import type { Reference } from '@aws-sdk/client-connect';
import {
  type ConnectClient,
  ContactNotFoundException,
  StopContactCommand,
  UpdateContactCommand,
} from '@aws-sdk/client-connect';
import { sleep } from '#lib/clock.ts';
import { CONFIG_DEFAULTS } from '#lib/config.ts';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { type ContactUpdateFields, validateContactUpdate } from '#lib/connect/validate-task.ts';
import { applyTaskFact } from '#lib/contact-events/apply.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type {
  ContactIndexLedger,
  LifecycleLedger,
  ProgressLedger,
  StoredLedgerEntry,
  TaskLifecycle,
} from '#lib/ledger/port.ts';
import { MappingError } from '#lib/mapping/errors.ts';
import { evaluateIdempotencyKey } from '#lib/mapping/map.ts';
import { parseTimeInput } from '#lib/mapping/time.ts';
import { type Effect, publishEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, type NotifySpec, wants } from '#lib/outcomes/outcome.ts';
import { assertFits, type Deadline, NO_DEADLINE } from '#lib/retry/deadline.ts';
import type { CompiledRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';
import type { TransferStore } from '#lib/transfers/store/port.ts';
import { IngestRefusalError, IngestRetryError } from './errors.ts';
import { taskWaitReceive } from './receives.ts';

export const TASK_NOT_FOUND_CODE = 'TaskNotFound';
export const TASK_BUSY_CODE = 'TaskBusy';
/**
 * How long a delivery that finds the task held by another waits in the invocation for it (polling
 * every BUSY_POLL_MS) before it gives up this receive as TRANSIENT `TaskBusy`: a holder makes one
 * Connect call (two attempts at most) and lets go.
 */
export const BUSY_WAIT_MS = 3_000;
const BUSY_POLL_MS = 250;
/** What an attempt returns when another delivery holds a live lease on the task. */
const BUSY = Symbol('busy');
/** How long the event being applied holds the task: longer than the ingest function's timeout (60 s). */
const DEFAULT_LIFECYCLE_LEASE_MS = 5 * 60 * 1000;

/** UpdateContact and StopContact, as the lifecycle needs them. */
export interface ContactActions {
  updateContact(input: { InstanceId: string; ContactId: string } & ContactUpdateFields): Promise<void>;
  /** 'ended' when Connect says the contact is not active (ContactNotFoundException). */
  stopContact(input: { InstanceId: string; ContactId: string }): Promise<'stopped' | 'ended'>;
}

type LifecycleResult =
  | { status: 'updated'; contactId: string; clientToken: string; truncated: string[] }
  | { status: 'completed'; contactId: string; clientToken: string; alreadyEnded: boolean }
  | {
      status: 'stale';
      contactId: string;
      clientToken: string;
      /** duplicate: this event was applied before; older: a newer update was; completed: the task is. */
      reason: 'duplicate' | 'older' | 'completed';
    };

export type LifecycleApplier = (input: {
  rule: CompiledRule;
  /** The source's rules (the default correlation key is its create rule's idempotency key). */
  rules: readonly CompiledRule[];
  envelope: Envelope;
  /** Earlier receives this event spent waiting for its create (receives.ts). */
  taskWaitsBefore: number;
  /** The id of this delivery (its first SQS message id): its own retry may take back a lease it holds. */
  deliveryId: string;
  /** The invocation's deadline: the wait for another delivery's lease starts only within it. */
  deadline?: Deadline;
}) => Promise<LifecycleResult>;

export function connectContactActions(connect: Pick<ConnectClient, 'send'>): ContactActions {
  return {
    async updateContact(input) {
      await connect.send(new UpdateContactCommand(input));
    },
    async stopContact(input) {
      try {
        await connect.send(new StopContactCommand(input));
        return 'stopped';
      } catch (error) {
        if (
          error instanceof ContactNotFoundException ||
          (error as { name?: unknown } | null)?.name === 'ContactNotFoundException'
        ) {
          return 'ended';
        }
        throw error;
      }
    },
  };
}

function byPriority(a: CompiledRule, b: CompiledRule): number {
  if (a.rule.enabled !== b.rule.enabled) return a.rule.enabled ? -1 : 1;
  if (a.rule.priority !== b.rule.priority) return a.rule.priority - b.rule.priority;
  return a.rule.ruleId < b.rule.ruleId ? -1 : a.rule.ruleId > b.rule.ruleId ? 1 : 0;
}

/** The create rule whose idempotency key is the default correlation key of `rule`. */
export function correlatedCreateRule(
  rule: CompiledRule,
  rules: readonly CompiledRule[],
): CompiledRule | undefined {
  const r = rule.rule;
  if (r.action !== 'update' && r.action !== 'complete') return undefined;
  return rules
    .filter(
      (c) => c.rule.action === 'create' && c.rule.source === r.source && c.rule.instanceId === r.instanceId,
    )
    .sort(byPriority)[0];
}

async function correlationKey(
  compiled: CompiledRule,
  rules: readonly CompiledRule[],
  env: Envelope,
): Promise<string> {
  const ruleId = compiled.rule.ruleId;
  const expr = compiled.correlationKey;
  if (expr !== undefined) {
    let value: unknown;
    try {
      value = await expr.evaluate(env);
    } catch (error) {
      if (error instanceof RuleEvaluationError) throw error;
      throw new MappingError('correlationKey', 'correlationKey: evaluation failed', { cause: error, ruleId });
    }
    if ((typeof value !== 'string' && typeof value !== 'number') || value === '') {
      throw new MappingError('correlationKey', 'correlationKey produced no string value', { ruleId });
    }
    return String(value);
  }
  const create = correlatedCreateRule(compiled, rules);
  if (!create) {
    throw new IngestRefusalError(
      'NoCorrelationKey',
      `rule "${ruleId}" has no correlationKey and source "${env.source}" has no create rule for its instance to take the key from`,
    );
  }
  return evaluateIdempotencyKey(create, env);
}

async function mapUpdate(compiled: CompiledRule, env: Envelope): Promise<ContactUpdateFields> {
  const ruleId = compiled.rule.ruleId;
  const u = compiled.update;
  if (!u) throw new IngestRefusalError('InvalidRule', `rule "${ruleId}" is not an update rule`);
  const str = async (expr: NonNullable<typeof u.name>): Promise<string | undefined> => {
    const value = await expr.evaluate(env);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new MappingError(expr.path, `${expr.path} produced a non-string value; Connect wants a string`, {
      ruleId,
    });
  };
  const out: ContactUpdateFields = {};
  if (u.name) {
    const name = await str(u.name);
    if (name !== undefined) out.Name = name;
  }
  if (u.description) {
    const description = await str(u.description);
    if (description !== undefined) out.Description = description;
  }
  const references: Record<string, Reference> = {};
  for (const ref of u.references) {
    let value: string | undefined;
    if (ref.type === 'DATE') {
      const raw = await ref.value.evaluate(env);
      if (raw !== undefined && raw !== null) {
        const ms = parseTimeInput(raw);
        if (ms === undefined) {
          throw new MappingError(ref.value.path, `${ref.value.path}: not an ISO-8601 time or epoch number`, {
            ruleId,
          });
        }
        value = String(Math.floor(ms / 1000));
      }
    } else {
      value = await str(ref.value);
    }
    if (value !== undefined) references[ref.key] = { Type: ref.type, Value: value };
  }
  if (Object.keys(references).length > 0) out.References = references;
  return out;
}

/** (time, id) order of update events: time first, the event id breaks a tie. */
function compareEvents(a: { at: number; id: string }, b: { at: number; id: string }): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The newest update applied, or being applied by another event (a live or dead lease). */
function newestUpdate(lc: TaskLifecycle, eventId: string): { at: number; id: string } | undefined {
  const applied =
    lc.lastEventAt !== undefined && lc.lastEventId !== undefined
      ? { at: lc.lastEventAt, id: lc.lastEventId }
      : undefined;
  const leased =
    lc.lease !== undefined && lc.lease.eventId !== eventId && lc.lease.eventAt !== undefined
      ? { at: lc.lease.eventAt, id: lc.lease.eventId }
      : undefined;
  if (!applied) return leased;
  if (!leased) return applied;
  return compareEvents(applied, leased) >= 0 ? applied : leased;
}

export interface LifecycleDeps {
  ledger: LifecycleLedger;
  contacts: ContactActions;
  limits: TaskLimits;
  now: () => number;
  /** The ingest queue's maxReceiveCount: on the wait `taskWaitReceive` of it (receives.ts), a missing task is parked PERMANENT. */
  maxReceiveCount?: number;
  leaseMs?: number;
  /** Real-time sleep for the wait for another delivery's lease (BUSY_WAIT_MS); injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The transfer plans: a completed task's plans that have not run are cancelled (the contact has
   * ended; a sweep would only fail them as ContactEnded). Without it, plans are left as they are.
   */
  transfers?: Pick<TransferStore, 'list' | 'cancel'>;
  /**
   * The task's outcomes and contact progress: an applied update records its task.updated outcome with
   * the ledger commit, and a complete records the task as COMPLETED (our own StopContact, outranked by
   * Connect's contact events when they arrive). Absent: neither is recorded.
   */
  outcomes?: {
    progress: ProgressLedger & ContactIndexLedger;
    drain(key: string, effects: readonly Effect[]): Promise<unknown>;
  };
}

type LifecycleInput = Parameters<LifecycleApplier>[0];
/** The task's entry as the lifecycle reads it. */
type FoundTask = { entry: StoredLedgerEntry; lifecycle: TaskLifecycle; notify?: NotifySpec };
type LifecycleRule = CompiledRule & {
  rule: Extract<CompiledRule['rule'], { action: 'update' | 'complete' }>;
};

/** One event's change to its task: which task, and (update) the validated fields and the event time. */
interface LifecycleChange {
  compiled: LifecycleRule;
  clientToken: string;
  eventId: string;
  /** update: the validated fields; complete: undefined. */
  update?: ContactUpdateFields;
  truncated: string[];
  eventAt?: number;
}

function isLifecycleRule(compiled: CompiledRule): compiled is LifecycleRule {
  return compiled.rule.action === 'update' || compiled.rule.action === 'complete';
}

/** The event's time, which orders updates; an update without one is refused. */
function updateTime(envelope: Envelope): number {
  const eventAt = envelope.time === '' ? undefined : parseTimeInput(envelope.time);
  if (eventAt === undefined) {
    throw new IngestRefusalError(
      'MissingEventTime',
      `an update needs the event's time to order it (envelope time ${envelope.time === '' ? 'absent' : 'not ISO-8601'})`,
    );
  }
  return eventAt;
}

/** Step 1: the task's ClientToken and, for an update, its fields validated against the limits. */
async function lifecycleChange(
  { rule: compiled, rules, envelope }: LifecycleInput,
  limits: TaskLimits,
): Promise<LifecycleChange> {
  if (!isLifecycleRule(compiled)) {
    throw new IngestRefusalError(
      'InvalidRule',
      `rule "${compiled.rule.ruleId}" is not an update or complete rule`,
    );
  }
  const rule = compiled.rule;
  const key = await correlationKey(compiled, rules, envelope);
  const change: LifecycleChange = {
    compiled,
    clientToken: taskClientToken(rule.instanceId, envelope.source, key),
    eventId: envelope.id,
    truncated: [],
  };
  if (rule.action !== 'update') return change;
  const eventAt = updateTime(envelope);
  const validated = validateContactUpdate(await mapUpdate(compiled, envelope), {
    limits,
    truncate: rule.options.truncate,
  });
  if (!validated.ok) {
    throw new IngestRefusalError(
      'ValidationFailed',
      validated.issues.map((issue) => issue.message).join('; '),
    );
  }
  return { ...change, update: validated.request, truncated: validated.truncated, eventAt };
}

/** No ledger entry: its create is still on its way (TRANSIENT), or it waited long enough (PERMANENT). */
function taskNotFound(
  change: LifecycleChange,
  envelope: Envelope,
  taskWaitsBefore: number,
  waitLimit: number,
): Error {
  const { rule } = change.compiled;
  const reason = `no task recorded for this ${rule.action} (source "${envelope.source}", rule "${rule.ruleId}", ClientToken ${change.clientToken}): its create has not been ingested`;
  const wait = taskWaitsBefore + 1;
  if (wait >= waitLimit) {
    return new IngestRefusalError(
      TASK_NOT_FOUND_CODE,
      `${reason} after ${wait} receives waiting for it; replay it once the create exists`,
    );
  }
  return new IngestRetryError(TASK_NOT_FOUND_CODE, reason);
}

/** Step 2: the event changes nothing (the task is completed, or a newer or the same update was applied). */
function staleReason(
  change: LifecycleChange,
  lc: TaskLifecycle,
): 'duplicate' | 'older' | 'completed' | undefined {
  if (lc.completedAt !== undefined) {
    return change.compiled.rule.action === 'complete' && lc.completedEventId === change.eventId
      ? 'duplicate'
      : 'completed';
  }
  if (change.eventAt === undefined) return undefined;
  const newest = newestUpdate(lc, change.eventId);
  if (newest === undefined) return undefined;
  const order = compareEvents({ at: change.eventAt, id: change.eventId }, newest);
  if (order < 0) return 'older';
  return order === 0 ? 'duplicate' : undefined;
}

/** The task.updated outcome of an applied update, when the task's publisher wants it. */
function updatedEffects(change: LifecycleChange, found: FoundTask, now: number): Effect[] {
  const { entry, notify } = found;
  if (change.eventAt === undefined || !wants(notify, 'task.updated')) return [];
  const outcome = buildOutcome('task.updated', [change.clientToken, change.eventId], entry.contactId, now, {
    event: { source: entry.source, id: entry.eventId, idempotencyKey: entry.idempotencyKey },
    ruleId: entry.ruleId,
    instanceId: entry.instanceId,
    contactId: entry.contactId,
    update: { eventId: change.eventId, eventTime: new Date(change.eventAt).toISOString() },
    ...(notify?.data === undefined ? {} : { mapped: notify.data }),
  });
  return [publishEffect(outcome)];
}

/**
 * A completed task as a fact (our own StopContact): it ends the task's progress and frees its slot.
 * Recorded on a repeated complete too (the fold changes nothing then), so a crash after the ledger
 * commit loses nothing.
 */
async function recordCompleted(deps: LifecycleDeps, change: LifecycleChange, ended: boolean): Promise<void> {
  if (!deps.outcomes) return;
  const at = deps.now();
  const fact = {
    type: 'COMPLETED' as const,
    at,
    ref: change.eventId,
    via: 'api' as const,
    disconnectReason: ended ? 'ALREADY_ENDED' : 'API',
  };
  const out = await applyTaskFact(change.clientToken, fact, {
    ledger: deps.outcomes.progress,
    now: deps.now,
  });
  if (out.status === 'applied' && out.effects.length > 0)
    await deps.outcomes.drain(change.clientToken, out.effects);
}

/** Step 4: UpdateContact or StopContact under the lease, then the ledger commit; a failed call releases it. */
async function applyChange(
  deps: LifecycleDeps,
  change: LifecycleChange,
  found: FoundTask,
): Promise<LifecycleResult> {
  const contactId = found.entry.contactId;
  const { clientToken, eventId, update, eventAt } = change;
  const target = { InstanceId: change.compiled.rule.instanceId, ContactId: contactId };
  let ended = false;
  try {
    if (update) await deps.contacts.updateContact({ ...target, ...update });
    else ended = (await deps.contacts.stopContact(target)) === 'ended';
  } catch (error) {
    await deps.ledger.releaseLifecycle(clientToken, eventId).catch(() => undefined);
    throw error;
  }
  const effects = update && deps.outcomes ? updatedEffects(change, found, deps.now()) : [];
  await deps.ledger.commitLifecycle(
    clientToken,
    eventId,
    eventAt !== undefined && update
      ? { kind: 'update', eventAt }
      : { kind: 'complete', completedAt: deps.now() },
    { effects, now: deps.now() },
  );
  if (effects.length > 0) await deps.outcomes?.drain(clientToken, effects);
  return update
    ? { status: 'updated', contactId, clientToken, truncated: change.truncated }
    : { status: 'completed', contactId, clientToken, alreadyEnded: ended };
}

/**
 * Step 5 of a complete: cancels the task's PENDING transfer plans. Idempotent, and run again on a
 * redelivered or repeated complete, so a crash between the ledger commit and this step loses nothing.
 */
async function cancelPendingTransfers(deps: LifecycleDeps, contactId: string): Promise<void> {
  if (!deps.transfers) return;
  let cursor: string | undefined;
  do {
    const page = await deps.transfers.list({ contactId, status: 'PENDING', ...(cursor ? { cursor } : {}) });
    for (const item of page.items) await deps.transfers.cancel(contactId, item.planId, deps.now());
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/** A complete (applied now, or before: a duplicate or a second complete) leaves its task ended. */
function leftTaskCompleted(change: LifecycleChange, result: LifecycleResult): boolean {
  if (change.compiled.rule.action !== 'complete') return false;
  return result.status === 'completed' || (result.status === 'stale' && result.reason !== 'older');
}

export function createLifecycleApplier(deps: LifecycleDeps): LifecycleApplier {
  const leaseMs = deps.leaseMs ?? DEFAULT_LIFECYCLE_LEASE_MS;
  const wait = deps.sleep ?? sleep;
  const waitLimit = taskWaitReceive(deps.maxReceiveCount ?? CONFIG_DEFAULTS.INGEST_MAX_RECEIVE_COUNT);

  /** Steps 2-4 once: read the entry, decide, take the lease; undefined when the lease was lost. */
  const attempt = async (
    input: LifecycleInput,
    change: LifecycleChange,
  ): Promise<LifecycleResult | typeof BUSY | undefined> => {
    const { clientToken, eventId, eventAt } = change;
    const found = await deps.ledger.lifecycle(clientToken);
    if (!found) throw taskNotFound(change, input.envelope, input.taskWaitsBefore, waitLimit);
    const { entry, lifecycle: lc } = found;
    const contactId = entry.contactId;
    const stale = staleReason(change, lc);
    if (stale !== undefined) return { status: 'stale', contactId, clientToken, reason: stale };
    const now = deps.now();
    // A live lease held by another delivery, even of this event (an upstream duplicate being applied
    // right now), means wait: the holder's outcome decides. This delivery's own lease (its earlier
    // attempt failed after the call) and an expired one (its holder died) are taken over.
    const own = lc.lease?.eventId === eventId && lc.lease.holder === input.deliveryId;
    if (lc.lease !== undefined && lc.lease.until > now && !own) return BUSY;
    const claimed = await deps.ledger.claimLifecycle(clientToken, lc.rev, {
      eventId,
      ...(eventAt === undefined ? {} : { eventAt }),
      until: now + leaseMs,
      holder: input.deliveryId,
    });
    return claimed ? await applyChange(deps, change, found) : undefined;
  };

  return async (input) => {
    const change = await lifecycleChange(input, deps.limits);
    const deadline = input.deadline ?? NO_DEADLINE;
    let busyWaitedMs = 0;
    for (let tries = 0; tries < 3; ) {
      const result = await attempt(input, change);
      if (result === BUSY) {
        // Another delivery holds the task for one Connect call: wait here for it rather than spend
        // a receive (two updates released together by their create's arrival meet like this).
        if (busyWaitedMs >= BUSY_WAIT_MS) {
          throw new IngestRetryError(
            TASK_BUSY_CODE,
            `another delivery or event of this task is being applied (ClientToken ${change.clientToken})`,
          );
        }
        // The rest of the bounded lease wait must fit in the invocation: else nothing was attempted.
        assertFits(deadline, BUSY_WAIT_MS - busyWaitedMs, "another delivery's lease on the task");
        await wait(BUSY_POLL_MS);
        busyWaitedMs += BUSY_POLL_MS;
        continue;
      }
      tries += 1;
      if (!result) continue;
      if (leftTaskCompleted(change, result)) {
        await cancelPendingTransfers(deps, result.contactId);
        await recordCompleted(deps, change, result.status === 'completed' && result.alreadyEnded);
      }
      return result;
    }
    throw new IngestRetryError(
      TASK_BUSY_CODE,
      `the task changed under three attempts (ClientToken ${change.clientToken})`,
    );
  };
}
