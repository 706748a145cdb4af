/**
 * Ingest one SQS record: the product's main use case.
 *
 * Input: an SQS record from the ingest queue (an upstream event, or a replay from the DLQ).
 * Output: a `RecordOutcome` when the record is done (task created or already created, dropped by a
 * rule, or parked in the DLQ); throws `RecordNotDoneError` when SQS must deliver it again.
 *
 * Primary course:
 *  1. unwrap (a DLQ replay may be wrapped and carries its failure record) and parse the envelope;
 *  2-3. plan (`planTask`, plan.ts, which `rules test` runs too): pick the rule (priority order,
 *     `match`, first wins), decide the lane, map the envelope to a StartTaskContact request, fetch
 *     the task template if one is targeted, derive the ClientToken from (instanceId, source,
 *     idempotency key) and validate the request against the documented limits before any call;
 *     a rule that is not a create goes to its own step (drop, transfer, update/complete);
 *  4. start the task exactly once (idempotency record + Connect's token);
 *  5. record the ledger entry and the transfer plan (idempotent writes).
 * Lanes: the record's lane is its queue's lane; when a create rule names another lane, the message is
 * forwarded to that lane's queue unchanged instead of steps 3-5 (`lane.ts`), and the record is done.
 * Time: the record starts, and waits for a budget slot or a lease, only while the invocation's
 * deadline allows (lib/retry/deadline.ts); otherwise it is not attempted and goes back to its queue
 * as a copy within seconds, with nothing counted (receives.ts).
 * Failures: PERMANENT and OVER_QUOTA go to the DLQ with a failure record (the record is then done);
 * an update or complete whose create is not there yet goes back as a copy that counts one wait for it;
 * TRANSIENT pushes the message's visibility out by a full-jitter backoff and reports the record
 * failed, except from the parking attempt on (`parkingReceive`, receives.ts: two before the queue's
 * `maxReceiveCount`): then it goes to the DLQ as TRANSIENT with its code and reason, and the scheduled
 * redrive replays it for a bounded number of rounds before it waits for ops as EXHAUSTED (SQS would
 * otherwise move it there after maxReceiveCount with no record at all). If the DLQ send itself fails,
 * the record is reported failed so SQS keeps the message.
 */
import type { SQSRecord } from 'aws-lambda';
import type { CapacityGate } from '#lib/capacity/gate.ts';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { parseEnvelope } from '#lib/envelope/parse.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import type { Lane } from '#lib/lanes.ts';

import type { LogFields } from '#lib/observability/logger.ts';
import { type BackoffConfig, overQuotaNextAttempt, transientVisibilitySeconds } from '#lib/retry/backoff.ts';
import { type Classification, classifyError, cutMessage } from '#lib/retry/classify.ts';
import { assertFits, type Deadline, deadlineErrorIn, NO_DEADLINE } from '#lib/retry/deadline.ts';
import {
  buildDlqMessage,
  buildRetryCopy,
  type OutgoingMessage,
  unwrapIngestRecord,
} from '#lib/retry/dlq-message.ts';
import type { FailureClass, FailureRecord } from '#lib/retry/failure-record.ts';
import type { CompiledRule } from '#lib/rules/compile.ts';
import { IngestRefusalError, RecordNotDoneError } from './errors.ts';
import { decideLane, forwardedEventId, type LaneDecision, laneOfRecord } from './lane.ts';
import { type LifecycleApplier, TASK_NOT_FOUND_CODE } from './lifecycle.ts';
import { type IngestOutcomes, recordRejection } from './outcomes.ts';
import { type CompiledCreateRule, type PlanProgress, planTask, type TaskPlan } from './plan.ts';
import type {
  AfterCreate,
  IngestLogger,
  IngestMetrics,
  QueueActions,
  RuleSource,
  TaskStarter,
  TemplateSource,
  TransferRequester,
} from './ports.ts';
import {
  countedAttempt,
  MAX_COPY_DELAY_SECONDS,
  notAttemptedDelaySeconds,
  parkingReceive,
  type ReceiveAccount,
  receiveAccount,
} from './receives.ts';

export interface IngestDeps {
  rules: RuleSource;
  templates: TemplateSource;
  startTask: TaskStarter;
  queue: QueueActions;
  afterCreate: AfterCreate;
  requestTransfer: TransferRequester;
  /** The `update` and `complete` actions (lib/ingest/lifecycle.ts). */
  lifecycle: LifecycleApplier;
  metrics: IngestMetrics;
  /** The one logger port (a Powertools `Logger` as it is); identifiers only, never task contents. */
  log: IngestLogger;
  limits: TaskLimits;
  /**
   * The stage's Connect instances (CONNECT_INSTANCE_IDS): an event whose rule names another instance
   * is parked PERMANENT `InstanceNotAllowed` before any Connect call. Undefined: no restriction.
   */
  allowedInstanceIds?: readonly string[];
  transientBackoff: BackoffConfig;
  overQuotaBackoff: BackoffConfig;
  /**
   * The scheduled redrive's backoff for TRANSIENT records (REDRIVE_TRANSIENT_BACKOFF_*): a message
   * parked TRANSIENT gets its `nextAttemptAt` from it. Undefined: none (the redrive derives one).
   */
  transientRedriveBackoff?: BackoffConfig;
  /**
   * The ingest queue's maxReceiveCount: a TRANSIENT failure from `parkingReceive(maxReceiveCount)`
   * counted attempts on (receives.ts) is parked TRANSIENT instead of being retried in place. Undefined:
   * always retried in place (the queue's redrive policy is then the only backstop, and it moves the
   * message without a failure record).
   */
  maxReceiveCount?: number;
  /**
   * Outcomes to publishers and the waiters of OVER_QUOTA events (lib/ingest/outcomes.ts). Absent:
   * neither is recorded.
   */
  outcomes?: IngestOutcomes;
  /**
   * The active-task gate (lib/capacity/gate.ts): an instance full by the service's own count parks
   * the event OVER_QUOTA without a call. Absent: every event is tried at Connect.
   */
  capacity?: CapacityGate;
  now: () => number;
}

export type RecordOutcome =
  | { status: 'created'; contactId: string; clientToken: string; ruleId: string }
  | { status: 'duplicate'; contactId: string; clientToken: string; ruleId: string }
  | { status: 'dropped'; ruleId: string }
  | { status: 'transfer-requested'; contactId: string; planId: string; ruleId: string }
  | { status: 'forwarded'; from: Lane; lane: Lane; ruleId: string }
  | { status: 'updated' | 'completed'; contactId: string; clientToken: string; ruleId: string }
  | {
      status: 'stale';
      contactId: string;
      clientToken: string;
      ruleId: string;
      /** duplicate: applied before; older: a newer update was applied; completed: the task is completed. */
      reason: 'duplicate' | 'older' | 'completed';
    }
  | { status: 'parked'; failureClass: FailureClass; code: string; reason: string }
  /** Sent back to its queue as a copy (receives.ts): not attempted, or waiting for its create. */
  | { status: 'returned'; code: string; delaySeconds: number };

type Unwrapped = ReturnType<typeof unwrapIngestRecord>;

/**
 * The instance's active tasks are full: Connect's 402 (also the chain limit when the ledger cannot
 * tell), or the service's own count (no call made). Such an event waits for a freed slot.
 */
const ACTIVE_QUOTA_CODES = new Set(['ServiceQuotaExceededException', 'ActiveTasksAtQuota']);

/** What the record reached before it failed: its failure record names them. */
interface Context extends PlanProgress {
  envelope?: Envelope;
}

/** One record's course: its SQS record, what unwrapping found, its receive accounting, the deadline and the deps. */
interface Run {
  record: SQSRecord;
  unwrapped: Unwrapped;
  account: ReceiveAccount;
  deadline: Deadline;
  deps: IngestDeps;
  ctx: Context;
}

/**
 * Processes one record of an invocation whose time is `deadline` (default: none). A record that
 * starts with less than the deadline's margin left is not attempted.
 */
export async function processRecord(
  record: SQSRecord,
  deps: IngestDeps,
  deadline: Deadline = NO_DEADLINE,
): Promise<RecordOutcome> {
  const ctx: Context = {};
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1') || 1;
  const unwrapped = unwrapIngestRecord(record);
  const account = receiveAccount(receiveCount, unwrapped.failure?.inPlace);
  try {
    assertFits(deadline, 0, 'the record');
    return await ingest({ record, unwrapped, account, deadline, deps, ctx });
  } catch (error) {
    return await routeFailure(error, { record, unwrapped, ctx, account, deps });
  }
}

/** The identifiers every log line of an event carries (never its contents). */
function eventFields(envelope: Envelope, compiled: CompiledRule) {
  return { source: envelope.source, eventId: envelope.id, ruleId: compiled.rule.ruleId };
}

/** An error as a log field (the logger port takes it as `error`). */
function errorField(error: unknown): { error?: Error } {
  return error instanceof Error ? { error } : {};
}

/** Step 1: the envelope of the record (a DLQ trip or a forward stamped its event id). */
function parseRecord({ record, unwrapped }: Run): Envelope {
  const stampedEventId = unwrapped.failure?.eventId ?? forwardedEventId(record);
  return parseEnvelope({
    body: unwrapped.body,
    messageId: record.messageId,
    attributes: unwrapped.attributes,
    ...(stampedEventId ? { stampedEventId } : {}),
  });
}

async function ingest(run: Run): Promise<RecordOutcome> {
  const { unwrapped, deps, ctx } = run;
  const envelope = parseRecord(run);
  ctx.envelope = envelope;
  // An ops replay (`dlq replay`) carries a replay id: the first message of a replay refreshes its
  // source's rules (and its task template), so a rule fixed just before the replay is seen.
  const replayId = unwrapped.failure?.replayId;
  const hint = replayId === undefined ? undefined : { replayId };
  const rules = await deps.rules.rulesFor(envelope.source, hint);
  const plan = await planTask(
    envelope,
    rules,
    {
      template: (instanceId, templateId) => deps.templates.get(instanceId, templateId, hint),
      limits: deps.limits,
      now: deps.now,
      ...(deps.allowedInstanceIds ? { allowedInstanceIds: deps.allowedInstanceIds } : {}),
      lane: (rule) => laneStep(run, envelope, rule),
    },
    ctx,
  );
  switch (plan.kind) {
    case 'refused':
      // The MappingError / RuleEvaluationError itself, so failure routing gives it its own code.
      throw plan.error ?? new IngestRefusalError(plan.code, plan.message);
    case 'action':
      return await ruleAction(run, envelope, plan.rule, rules);
    case 'forward':
      return await forwardStep(run, envelope, plan.rule, plan.lane);
    case 'start':
      return await startStep(run, envelope, plan);
  }
}

/** The lane decision; a record kept out of its rule's lane is logged with the reason. */
function laneStep({ record, deps }: Run, envelope: Envelope, compiled: CompiledCreateRule): LaneDecision {
  const ruleLane = compiled.rule.options.lane;
  const lane = decideLane({
    record,
    envelope,
    ruleLane,
    reachable: (target) => deps.queue.forward !== undefined && (deps.queue.lanes ?? []).includes(target),
  });
  if (lane.kind === 'here' && lane.reason !== undefined) {
    deps.log.warn("processed in the lane it arrived in, not in its rule's lane", {
      ...eventFields(envelope, compiled),
      lane: lane.lane,
      ...(ruleLane ? { toLane: ruleLane } : {}),
      reason: lane.reason,
    });
  }
  return lane;
}

/** The actions other than create: drop, transfer, update and complete. */
async function ruleAction(
  run: Run,
  envelope: Envelope,
  compiled: CompiledRule,
  rules: readonly CompiledRule[],
): Promise<RecordOutcome> {
  const { deps } = run;
  const rule = compiled.rule;
  if (rule.action === 'drop') {
    deps.metrics.count('Dropped', { source: envelope.source });
    deps.log.info('event dropped by rule', eventFields(envelope, compiled));
    return { status: 'dropped', ruleId: rule.ruleId };
  }
  if (rule.action === 'transfer') {
    const out = await deps.requestTransfer({
      rule: compiled,
      envelope,
      receiveCount: countedAttempt(run.account),
    });
    deps.metrics.count('TransfersRequested');
    deps.log.info('transfer requested', { ...eventFields(envelope, compiled), contactId: out.contactId });
    return {
      status: 'transfer-requested',
      contactId: out.contactId,
      planId: out.planId,
      ruleId: rule.ruleId,
    };
  }
  return await lifecycleStep(run, envelope, compiled, rules);
}

/** The update and complete actions (lifecycle.ts). */
async function lifecycleStep(
  { record, unwrapped, account, deadline, deps, ctx }: Run,
  envelope: Envelope,
  compiled: CompiledRule,
  rules: readonly CompiledRule[],
): Promise<RecordOutcome> {
  const rule = compiled.rule;
  const out = await deps.lifecycle({
    rule: compiled,
    rules,
    envelope,
    taskWaitsBefore: account.taskWaitsBefore,
    // The first delivery's id: a copy sent back, or a replay, is the same delivery taking its lease back.
    deliveryId: unwrapped.failure?.originalMessageId ?? record.messageId,
    deadline,
  });
  ctx.clientToken = out.clientToken;
  const task = { contactId: out.contactId, clientToken: out.clientToken, ruleId: rule.ruleId };
  const fields = {
    ...eventFields(envelope, compiled),
    clientToken: out.clientToken,
    contactId: out.contactId,
  };
  if (out.status === 'stale') {
    deps.metrics.count('StaleEvents', { source: envelope.source });
    deps.log.info(`${rule.action} changed nothing (${out.reason})`, { ...fields, reason: out.reason });
    return { status: 'stale', ...task, reason: out.reason };
  }
  if (out.status === 'updated') {
    if (out.truncated.length > 0) deps.metrics.count('Truncated');
    deps.metrics.count('TasksUpdated');
    deps.log.info('task updated', {
      ...fields,
      ...(out.truncated.length ? { truncated: out.truncated } : {}),
    });
  } else {
    deps.metrics.count('TasksCompleted');
    deps.log.info(out.alreadyEnded ? 'task had already ended; complete recorded' : 'task completed', fields);
  }
  return { status: out.status, ...task };
}

/** A create rule of another lane: the message moves to that lane's queue and the record is done. */
async function forwardStep(
  { deps }: Run,
  envelope: Envelope,
  compiled: CompiledRule,
  lane: Extract<LaneDecision, { kind: 'forward' }>,
): Promise<RecordOutcome> {
  // A failed send is TRANSIENT (retried in place); the record is done only once the copy is queued.
  await deps.queue.forward?.(lane.to, lane.message);
  deps.metrics.count('Forwarded');
  deps.log.info("event forwarded to its rule's lane", {
    ...eventFields(envelope, compiled),
    lane: lane.from,
    toLane: lane.to,
  });
  return { status: 'forwarded', from: lane.from, lane: lane.to, ruleId: compiled.rule.ruleId };
}

/**
 * StartTaskContact with one of the instance's active-task slots (the gate, when there is one): given
 * back when no task came of the call, kept by a created task until it ends.
 */
async function startWithSlot(
  deps: IngestDeps,
  instanceId: string,
  replay: boolean,
  call: Parameters<IngestDeps['startTask']>[0],
) {
  const slot = await deps.capacity?.take(instanceId, { replay });
  try {
    const result = await deps.startTask(call);
    if (result.duplicate) await slot?.giveBack();
    return result;
  } catch (error) {
    await slot?.giveBack();
    throw error;
  }
}

/** Steps 4-5: start the planned task exactly once, then record it (afterCreate). */
async function startStep(
  { record, deadline, deps, unwrapped }: Run,
  envelope: Envelope,
  plan: Extract<TaskPlan, { kind: 'start' }>,
): Promise<RecordOutcome> {
  const { rule: compiled, clientToken, request } = plan;
  const rule = compiled.rule;
  if (plan.truncated.length > 0) deps.metrics.count('Truncated');
  const result = await startWithSlot(deps, rule.instanceId, unwrapped.failure !== undefined, {
    clientToken,
    request,
    onChainLimit: rule.options.onChainLimit,
    lane: plan.lane?.lane ?? laneOfRecord(record),
    deadline,
  });
  if (result.linkedAsRelated) deps.metrics.count('LinkedAsRelated');
  await deps.afterCreate({
    entry: {
      clientToken,
      contactId: result.contactId,
      instanceId: rule.instanceId,
      source: envelope.source,
      eventId: envelope.id,
      idempotencyKey: plan.idempotencyKey,
      ruleId: rule.ruleId,
      createdAt: plan.at,
      // Counted in its PreviousContactId chain (ledger), unless it was linked as related instead.
      ...(request.PreviousContactId === undefined || result.linkedAsRelated
        ? {}
        : { previousContactId: request.PreviousContactId }),
    },
    rule: compiled,
    ...(plan.transferAt === undefined ? {} : { transferAt: plan.transferAt }),
    ...(plan.notify === undefined ? {} : { notify: plan.notify }),
  });
  // A timer replay of an OVER_QUOTA event made its task: its waiter must not take a freed slot.
  if (unwrapped.failure?.class === 'OVER_QUOTA') await deps.outcomes?.waiters.removeWaiter(clientToken);
  const fields = {
    ...eventFields(envelope, compiled),
    clientToken,
    contactId: result.contactId,
    ...(plan.truncated.length ? { truncated: plan.truncated } : {}),
  };
  const outcome = { contactId: result.contactId, clientToken, ruleId: rule.ruleId };
  if (result.duplicate) {
    deps.metrics.count('DuplicatesSuppressed');
    deps.log.info('task already created for this event; duplicate suppressed', fields);
    return { status: 'duplicate', ...outcome };
  }
  deps.metrics.count('TasksCreated');
  deps.log.info('task created', fields);
  return { status: 'created', ...outcome };
}

type Classified = Classification;

/** A record whose course ended in an error: what routing needs of it. */
interface Failure {
  record: SQSRecord;
  unwrapped: Unwrapped;
  ctx: Context;
  account: ReceiveAccount;
  deps: IngestDeps;
}

/** The identifiers a failure's log lines carry (never task contents). */
function failureFields({ record, ctx, account }: Failure, failureClass: string, code: string): LogFields {
  return {
    messageId: record.messageId,
    ...(ctx.envelope ? { source: ctx.envelope.source, eventId: ctx.envelope.id } : {}),
    ...(ctx.rule ? { ruleId: ctx.rule.rule.ruleId } : {}),
    ...(ctx.clientToken ? { clientToken: ctx.clientToken } : {}),
    failureClass,
    code,
    receiveCount: Number(record.attributes.ApproximateReceiveCount ?? '1') || 1,
    attempt: countedAttempt(account),
    lane: laneOfRecord(record),
  };
}

/**
 * Failure routing (receives.ts says which receives count):
 * - not attempted (the invocation's time ran short): back to the queue as a copy, nothing counted;
 * - TRANSIENT TaskNotFound (an update or complete before its create): back as a copy, one wait counted;
 * - TRANSIENT: retried in place, counted; from the parking attempt on, parked TRANSIENT for the
 *   scheduled redrive's rounds;
 * - OVER_QUOTA and PERMANENT: parked.
 */
async function routeFailure(error: unknown, failure: Failure): Promise<RecordOutcome> {
  const { deps, account } = failure;
  const deadline = deadlineErrorIn(error);
  if (deadline !== undefined) {
    const fields = failureFields(failure, 'TRANSIENT', deadline.code);
    deps.metrics.count('NotAttempted');
    return await sendBack(failure, { code: deadline.code, reason: deadline.message }, fields);
  }
  const classified = classifyError(error);
  const fields = failureFields(failure, classified.class, classified.code);
  if (classified.class === 'TRANSIENT' && classified.code === TASK_NOT_FOUND_CODE) {
    deps.metrics.count('Transient', { code: classified.code });
    return await sendBack(
      failure,
      { code: classified.code, reason: classified.message, taskWait: true },
      fields,
    );
  }
  // From the parking attempt on: park with a record now rather than let the redrive policy move it
  // bare (receives.ts says why two receives are kept back).
  const spent =
    classified.class === 'TRANSIENT' &&
    deps.maxReceiveCount !== undefined &&
    countedAttempt(account) >= parkingReceive(deps.maxReceiveCount);
  if (classified.class === 'TRANSIENT' && !spent) {
    return await retryInPlace(error, failure, classified, fields);
  }
  return await park(failure, classified, spent, fields);
}

async function retryInPlace(
  error: unknown,
  { record, account, deps }: Failure,
  classified: Classified,
  fields: LogFields,
): Promise<never> {
  deps.metrics.count('Transient', { code: classified.code });
  const seconds = transientVisibilitySeconds(countedAttempt(account), deps.transientBackoff);
  try {
    await deps.queue.changeVisibility(record.receiptHandle, seconds, laneOfRecord(record));
  } catch (visibilityError) {
    // The message still comes back after the queue's visibility timeout: slower, never lost.
    deps.log.warn('could not push visibility out; the queue default applies', fields);
    deps.log.error('ChangeMessageVisibility failed', { ...fields, ...errorField(visibilityError) });
  }
  deps.log.warn('transient failure; retrying in place', { ...fields, visibilitySeconds: seconds });
  throw new RecordNotDoneError(classified.class, classified.code, { cause: error });
}

/**
 * Sends the message back to its own queue as a fresh copy that carries the receive accounting
 * (receives.ts), delayed a few seconds (not attempted) or by the transient backoff of its waits (a
 * wait for its create); the record is then done and the original deleted. If the copy cannot be
 * sent, the message stays and comes back on its own: that receive then counts, as a failure's would.
 */
async function sendBack(
  failure: Failure,
  back: { code: string; reason: string; taskWait?: boolean },
  fields: LogFields,
): Promise<RecordOutcome> {
  const { record, unwrapped, ctx, account, deps } = failure;
  const inPlace = {
    attempts: account.attemptsBefore,
    taskWaits: account.taskWaitsBefore + (back.taskWait ? 1 : 0),
  };
  const delaySeconds = back.taskWait
    ? Math.min(MAX_COPY_DELAY_SECONDS, transientVisibilitySeconds(inPlace.taskWaits, deps.transientBackoff))
    : notAttemptedDelaySeconds(deps.transientBackoff.random);
  const lane = laneOfRecord(record);
  const copy = buildRetryCopy({
    body: unwrapped.body,
    attributes: unwrapped.attributes,
    messageId: record.messageId,
    ...(unwrapped.failure ? { previous: unwrapped.failure } : {}),
    failure: { class: 'TRANSIENT', code: back.code, message: back.reason, lane, ...reached(ctx) },
    inPlace,
    now: deps.now(),
  });
  try {
    await deps.queue.sendBack(lane, copy, delaySeconds);
  } catch (sendError) {
    deps.log.error('could not send the message back as a copy; SQS keeps it', {
      ...fields,
      ...errorField(sendError),
    });
    await deps.queue.changeVisibility(record.receiptHandle, delaySeconds, lane).catch(() => undefined);
    throw new RecordNotDoneError('TRANSIENT', back.code, { cause: sendError });
  }
  deps.log.info(
    back.taskWait
      ? 'no task yet for this update or complete; sent back to wait for its create'
      : 'not attempted: the invocation had too little time left; sent back',
    { ...fields, delaySeconds, taskWaits: inPlace.taskWaits },
  );
  return { status: 'returned', code: back.code, delaySeconds };
}

/** What the record reached before it failed, as a failure record names it. */
function reached(ctx: Context) {
  return {
    ...(ctx.envelope ? { source: ctx.envelope.source, eventId: ctx.envelope.id } : {}),
    ...(ctx.rule ? { ruleId: ctx.rule.rule.ruleId } : {}),
    ...(ctx.clientToken ? { clientToken: ctx.clientToken } : {}),
  };
}

/** When a parked message may be replayed: OVER_QUOTA by its backoff, TRANSIENT by its redrive round's. */
function parkedNextAttempt(
  deps: IngestDeps,
  parkedClass: FailureClass,
  previous: FailureRecord | undefined,
): Date | undefined {
  if (parkedClass === 'OVER_QUOTA') {
    return overQuotaNextAttempt((previous?.attempts ?? 0) + 1, deps.overQuotaBackoff, deps.now());
  }
  if (parkedClass === 'TRANSIENT' && deps.transientRedriveBackoff) {
    return overQuotaNextAttempt(
      (previous?.transientRounds ?? 0) + 1,
      deps.transientRedriveBackoff,
      deps.now(),
    );
  }
  return undefined;
}

/**
 * Parks the message in the DLQ with its failure record; the record is then done. `spent`: a TRANSIENT
 * failure on its parking attempt, parked TRANSIENT for the scheduled redrive's rounds.
 */
async function park(
  { record, unwrapped, ctx, account, deps }: Failure,
  classified: Classified,
  spent: boolean,
  fields: LogFields,
): Promise<RecordOutcome> {
  const parkedClass: FailureClass = classified.class;
  const reason = spent
    ? cutMessage(
        `retried in place ${countedAttempt(account)} times (maxReceiveCount ${deps.maxReceiveCount}); last failure: ${classified.message}`,
      )
    : classified.message;
  const previous: FailureRecord | undefined = unwrapped.failure;
  const nextAttemptAt = parkedNextAttempt(deps, parkedClass, previous);
  const message = buildDlqMessage({
    body: unwrapped.body,
    attributes: unwrapped.attributes,
    messageId: record.messageId,
    ...(previous ? { previous } : {}),
    failure: {
      class: parkedClass,
      code: classified.code,
      message: reason,
      lane: laneOfRecord(record),
      ...reached(ctx),
    },
    now: deps.now(),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
  });
  let dlqMessageId: string | undefined;
  try {
    dlqMessageId = (await deps.queue.sendToDlq(message))?.messageId;
  } catch (dlqError) {
    deps.log.error('could not park the message in the DLQ; SQS keeps it', {
      ...fields,
      ...errorField(dlqError),
    });
    throw new RecordNotDoneError(parkedClass, 'DlqSendFailed', { cause: dlqError });
  }
  await afterPark(
    { record, ctx, deps, unwrapped },
    { class: parkedClass, code: classified.code, reason },
    message,
    dlqMessageId,
    fields,
  );
  const due = nextAttemptAt ? { nextAttemptAt: nextAttemptAt.toISOString() } : {};
  if (spent) {
    deps.metrics.count('Transient', { code: classified.code });
    deps.log.warn('transient failure outlived its retries in place; parked in the DLQ for the redrive', {
      ...fields,
      ...due,
    });
  } else if (classified.class === 'OVER_QUOTA') {
    deps.metrics.count('OverQuota', { code: classified.code });
    deps.log.warn('over quota; parked in the DLQ until the redrive replays it', { ...fields, ...due });
  } else {
    deps.metrics.count('Permanent', { code: classified.code });
    deps.log.warn('permanent failure; parked in the DLQ', { ...fields, reason: classified.message });
  }
  return { status: 'parked', failureClass: parkedClass, code: classified.code, reason };
}

/**
 * After the DLQ send: an OVER_QUOTA event for the active-task quota gets its waiter (a failure only
 * costs it the early release: the scheduled redrive still brings it back), and a PERMANENT or
 * EXHAUSTED one its task.rejected outcome when its publisher asked (a failure to record it has SQS
 * deliver the record again, which parks it again: a second DLQ copy, never a lost outcome).
 */
async function afterPark(
  { record, ctx, deps, unwrapped }: Pick<Run, 'record' | 'ctx' | 'deps' | 'unwrapped'>,
  parked: { class: FailureClass; code: string; reason: string },
  message: OutgoingMessage,
  dlqMessageId: string | undefined,
  fields: LogFields,
): Promise<void> {
  const { outcomes } = deps;
  if (outcomes === undefined) return;
  const rule = ctx.rule?.rule;
  if (parked.class === 'OVER_QUOTA') {
    if (!ACTIVE_QUOTA_CODES.has(parked.code) || rule?.action !== 'create' || ctx.clientToken === undefined)
      return;
    const firstFailureAt = unwrapped.failure?.firstFailureAt;
    await outcomes.waiters
      .putWaiter({
        clientToken: ctx.clientToken,
        instanceId: rule.instanceId,
        lane: laneOfRecord(record),
        message,
        parkedAt: deps.now(),
        firstParkedAt: firstFailureAt === undefined ? deps.now() : Date.parse(firstFailureAt),
      })
      .catch((error: unknown) =>
        deps.log.warn('could not record the waiting event; the scheduled redrive brings it back', {
          ...fields,
          ...errorField(error),
        }),
      );
    return;
  }
  // A TRANSIENT park comes back through the redrive's rounds: not a rejection (yet).
  if (ctx.envelope === undefined || (parked.class !== 'PERMANENT' && parked.class !== 'EXHAUSTED')) return;
  try {
    await recordRejection(outcomes, {
      envelope: ctx.envelope,
      rule: ctx.rule,
      rules: ctx.rule?.rule.action === 'create' ? [] : await deps.rules.rulesFor(ctx.envelope.source),
      failure: parked,
      dlqMessageId,
      ...(rule !== undefined && rule.action !== 'drop' ? { instanceId: rule.instanceId } : {}),
      now: deps.now(),
    });
  } catch (error) {
    deps.log.error('parked, but could not record its task.rejected outcome; SQS delivers it again', {
      ...fields,
      ...errorField(error),
    });
    throw new RecordNotDoneError(parked.class, 'OutcomeNotRecorded', { cause: error });
  }
}
