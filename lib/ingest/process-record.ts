/**
 * Ingest one SQS record: the product's main use case.
 *
 * Input: an SQS record from the ingest queue (an upstream event, or a replay from the DLQ).
 * Output: a `RecordOutcome` when the record is done (task created or already created, dropped by a
 * rule, or parked in the DLQ); throws `RecordNotDoneError` when SQS must deliver it again.
 *
 * Primary course:
 *  1. unwrap (a DLQ replay may be wrapped and carries its failure record) and parse the envelope;
 *  2. pick the rule (priority order, `match`, first wins) for the envelope's source;
 *  3. map the envelope to a StartTaskContact request, fetch the task template if one is targeted,
 *     and validate the request against the seed limits before any call;
 *  4. derive the ClientToken from (instanceId, source, idempotency key) and start the task exactly
 *     once (idempotency record + Connect's token);
 *  5. record the ledger entry and the transfer plan (idempotent writes).
 * Lanes: the record's lane is its queue's lane; when a create rule names another lane, the message is
 * forwarded to that lane's queue unchanged instead of steps 3-5 (`lane.ts`), and the record is done.
 * Failures: PERMANENT and OVER_QUOTA go to the DLQ with a failure record (the record is then done);
 * TRANSIENT pushes the message's visibility out by a full-jitter backoff and reports the record
 * failed, except on the last receive the queue allows (`maxReceiveCount`): then it goes to the DLQ as
 * EXHAUSTED with the transient code, so ops see a reason and `dlq replay` can replay it (SQS would
 * otherwise move it there on the next receive with no record at all). If the DLQ send itself fails,
 * the record is reported failed so SQS keeps the message.
 */
import type { SQSRecord } from 'aws-lambda';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { instanceNotAllowed } from '#lib/connect/instances.ts';
import { validateTaskRequest } from '#lib/connect/validate-task.ts';
import { EnvelopeError, parseEnvelope } from '#lib/envelope/parse.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { Lane } from '#lib/lanes.ts';
import { MappingError, mapToTaskRequest } from '#lib/mapping/map.ts';
import { type BackoffConfig, overQuotaNextAttempt, transientVisibilitySeconds } from '#lib/retry/backoff.ts';
import { classifyError, cutMessage } from '#lib/retry/classify.ts';
import { buildDlqMessage, unwrapIngestRecord } from '#lib/retry/dlq-message.ts';
import type { FailureClass, FailureRecord } from '#lib/retry/failure-record.ts';
import { type CompiledRule, RuleEvaluationError, selectRule } from '#lib/rules/compile.ts';
import { IngestRefusalError, RecordNotDoneError } from './errors.ts';
import { decideLane, forwardedEventId, laneOfRecord } from './lane.ts';
import type { LifecycleApplier } from './lifecycle.ts';
import type {
  AfterCreate,
  IngestLog,
  IngestMetrics,
  QueueActions,
  RuleSource,
  TaskStarter,
  TemplateSource,
  TransferRequester,
} from './ports.ts';

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
  log: IngestLog;
  limits: TaskLimits;
  /**
   * The stage's Connect instances (CONNECT_INSTANCE_IDS): an event whose rule names another instance
   * is parked PERMANENT `InstanceNotAllowed` before any Connect call. Undefined: no restriction.
   */
  allowedInstanceIds?: readonly string[];
  transientBackoff: BackoffConfig;
  overQuotaBackoff: BackoffConfig;
  /**
   * The ingest queue's maxReceiveCount: a TRANSIENT failure on this receive (or a later one) is parked
   * as EXHAUSTED instead of being retried in place. Undefined: always retried in place (the queue's
   * redrive policy is then the only backstop, and it moves the message without a failure record).
   */
  maxReceiveCount?: number;
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
  | { status: 'parked'; failureClass: FailureClass; code: string; reason: string };

interface Context {
  envelope?: Envelope;
  rule?: CompiledRule;
  clientToken?: string;
}

export async function processRecord(record: SQSRecord, deps: IngestDeps): Promise<RecordOutcome> {
  const ctx: Context = {};
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1') || 1;
  let unwrapped: ReturnType<typeof unwrapIngestRecord> | undefined;
  try {
    unwrapped = unwrapIngestRecord(record);
    return await ingest(record, unwrapped, ctx, receiveCount, deps);
  } catch (error) {
    return await routeFailure(error, record, unwrapped, ctx, receiveCount, deps);
  }
}

async function ingest(
  record: SQSRecord,
  unwrapped: ReturnType<typeof unwrapIngestRecord>,
  ctx: Context,
  receiveCount: number,
  deps: IngestDeps,
): Promise<RecordOutcome> {
  const stampedEventId = unwrapped.failure?.eventId ?? forwardedEventId(record);
  const envelope = parseEnvelope({
    body: unwrapped.body,
    messageId: record.messageId,
    attributes: unwrapped.attributes,
    ...(stampedEventId ? { stampedEventId } : {}),
  });
  ctx.envelope = envelope;

  // An ops replay (`dlq replay`) carries a replay id: the first message of a replay refreshes its
  // source's rules (and, below, its task template), so a rule fixed just before the replay is seen.
  const replayId = unwrapped.failure?.replayId;
  const rules = await deps.rules.rulesFor(envelope.source, replayId === undefined ? undefined : { replayId });
  const compiled = await selectRule(rules, envelope);
  if (!compiled) {
    throw new IngestRefusalError(
      'NoMatchingRule',
      rules.length === 0
        ? `no rules for source "${envelope.source}"`
        : `no enabled rule of source "${envelope.source}" matches event type "${envelope.type}"`,
    );
  }
  ctx.rule = compiled;
  const rule = compiled.rule;

  if (rule.action === 'drop') {
    deps.metrics.count('Dropped', { source: envelope.source });
    deps.log.info('event dropped by rule', {
      source: envelope.source,
      eventId: envelope.id,
      ruleId: rule.ruleId,
    });
    return { status: 'dropped', ruleId: rule.ruleId };
  }

  // A rule stored before the stage's instance list changed (rules put refuses new ones): the role may
  // not act on that instance, so the event waits in the DLQ with its reason instead of failing at Connect.
  const notAllowed = instanceNotAllowed(rule.instanceId, deps.allowedInstanceIds);
  if (notAllowed !== undefined) {
    throw new IngestRefusalError('InstanceNotAllowed', `rule ${rule.ruleId}: ${notAllowed}`);
  }

  if (rule.action === 'transfer') {
    const out = await deps.requestTransfer({ rule: compiled, envelope, receiveCount });
    deps.metrics.count('TransfersRequested');
    deps.log.info('transfer requested', {
      source: envelope.source,
      eventId: envelope.id,
      ruleId: rule.ruleId,
      contactId: out.contactId,
    });
    return {
      status: 'transfer-requested',
      contactId: out.contactId,
      planId: out.planId,
      ruleId: rule.ruleId,
    };
  }

  if (rule.action === 'update' || rule.action === 'complete') {
    const out = await deps.lifecycle({
      rule: compiled,
      rules,
      envelope,
      receiveCount,
      deliveryId: record.messageId,
    });
    ctx.clientToken = out.clientToken;
    const fields = {
      source: envelope.source,
      eventId: envelope.id,
      ruleId: rule.ruleId,
      clientToken: out.clientToken,
      contactId: out.contactId,
    };
    if (out.status === 'stale') {
      deps.metrics.count('StaleEvents', { source: envelope.source });
      deps.log.info(`${rule.action} changed nothing (${out.reason})`, { ...fields, reason: out.reason });
      return {
        status: 'stale',
        contactId: out.contactId,
        clientToken: out.clientToken,
        ruleId: rule.ruleId,
        reason: out.reason,
      };
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
      deps.log.info(
        out.alreadyEnded ? 'task had already ended; complete recorded' : 'task completed',
        fields,
      );
    }
    return {
      status: out.status,
      contactId: out.contactId,
      clientToken: out.clientToken,
      ruleId: rule.ruleId,
    };
  }

  const lane = decideLane({
    record,
    envelope,
    ruleLane: rule.options.lane,
    reachable: (target) => deps.queue.forward !== undefined && (deps.queue.lanes ?? []).includes(target),
  });
  if (lane.kind === 'forward') {
    // A failed send is TRANSIENT (retried in place); the record is done only once the copy is queued.
    await deps.queue.forward?.(lane.to, lane.message);
    deps.metrics.count('Forwarded');
    deps.log.info("event forwarded to its rule's lane", {
      source: envelope.source,
      eventId: envelope.id,
      ruleId: rule.ruleId,
      lane: lane.from,
      toLane: lane.to,
    });
    return { status: 'forwarded', from: lane.from, lane: lane.to, ruleId: rule.ruleId };
  }
  if (lane.reason !== undefined) {
    deps.log.warn("processed in the lane it arrived in, not in its rule's lane", {
      source: envelope.source,
      eventId: envelope.id,
      ruleId: rule.ruleId,
      lane: lane.lane,
      ...(rule.options.lane ? { toLane: rule.options.lane } : {}),
      reason: lane.reason,
    });
  }

  const now = deps.now();
  const mapped = await mapToTaskRequest(compiled, envelope, { now });
  const template = mapped.request.TaskTemplateId
    ? await deps.templates.get(
        rule.instanceId,
        mapped.request.TaskTemplateId,
        replayId === undefined ? undefined : { replayId },
      )
    : undefined;
  const clientToken = taskClientToken(rule.instanceId, envelope.source, mapped.idempotencyKey);
  ctx.clientToken = clientToken;

  const validated = validateTaskRequest(
    { ...mapped.request, ClientToken: clientToken },
    { limits: deps.limits, now, truncate: rule.options.truncate, ...(template ? { template } : {}) },
  );
  if (!validated.ok) {
    throw new IngestRefusalError(
      'ValidationFailed',
      validated.issues.map((issue) => issue.message).join('; '),
    );
  }
  if (validated.truncated.length > 0) deps.metrics.count('Truncated');

  const result = await deps.startTask({
    clientToken,
    request: { ...validated.request, ClientToken: clientToken },
    onChainLimit: rule.options.onChainLimit,
    lane: lane.lane,
  });
  if (result.linkedAsRelated) deps.metrics.count('LinkedAsRelated');

  await deps.afterCreate({
    entry: {
      clientToken,
      contactId: result.contactId,
      instanceId: rule.instanceId,
      source: envelope.source,
      eventId: envelope.id,
      idempotencyKey: mapped.idempotencyKey,
      ruleId: rule.ruleId,
      createdAt: now,
      // Counted in its PreviousContactId chain (ledger), unless it was linked as related instead.
      ...(validated.request.PreviousContactId === undefined || result.linkedAsRelated
        ? {}
        : { previousContactId: validated.request.PreviousContactId }),
    },
    rule: compiled,
    ...(mapped.transferAt === undefined ? {} : { transferAt: mapped.transferAt }),
  });

  const fields = {
    source: envelope.source,
    eventId: envelope.id,
    ruleId: rule.ruleId,
    clientToken,
    contactId: result.contactId,
    ...(validated.truncated.length ? { truncated: validated.truncated } : {}),
  };
  if (result.duplicate) {
    deps.metrics.count('DuplicatesSuppressed');
    deps.log.info('task already created for this event; duplicate suppressed', fields);
    return { status: 'duplicate', contactId: result.contactId, clientToken, ruleId: rule.ruleId };
  }
  deps.metrics.count('TasksCreated');
  deps.log.info('task created', fields);
  return { status: 'created', contactId: result.contactId, clientToken, ruleId: rule.ruleId };
}

function refusalCode(error: unknown): { code: string; message: string } | undefined {
  if (error instanceof EnvelopeError) return { code: error.code, message: error.message };
  if (error instanceof MappingError) return { code: 'MappingFailed', message: error.message };
  if (error instanceof RuleEvaluationError) return { code: 'RuleEvaluationFailed', message: error.message };
  return undefined;
}

async function routeFailure(
  error: unknown,
  record: SQSRecord,
  unwrapped: ReturnType<typeof unwrapIngestRecord> | undefined,
  ctx: Context,
  receiveCount: number,
  deps: IngestDeps,
): Promise<RecordOutcome> {
  const refusal = refusalCode(error);
  const classified = refusal ? { class: 'PERMANENT' as const, ...refusal } : classifyError(error);
  const fields = {
    messageId: record.messageId,
    ...(ctx.envelope ? { source: ctx.envelope.source, eventId: ctx.envelope.id } : {}),
    ...(ctx.rule ? { ruleId: ctx.rule.rule.ruleId } : {}),
    ...(ctx.clientToken ? { clientToken: ctx.clientToken } : {}),
    failureClass: classified.class,
    code: classified.code,
    receiveCount,
    lane: laneOfRecord(record),
  };

  // The last receive SQS allows: park with a record now rather than let the redrive policy move it bare.
  const exhausted =
    classified.class === 'TRANSIENT' &&
    deps.maxReceiveCount !== undefined &&
    receiveCount >= deps.maxReceiveCount;

  if (classified.class === 'TRANSIENT' && !exhausted) {
    deps.metrics.count('Transient', { code: classified.code });
    const seconds = transientVisibilitySeconds(receiveCount, deps.transientBackoff);
    try {
      await deps.queue.changeVisibility(record.receiptHandle, seconds, laneOfRecord(record));
    } catch (visibilityError) {
      // The message still comes back after the queue's visibility timeout: slower, never lost.
      deps.log.warn('could not push visibility out; the queue default applies', fields);
      deps.log.error('ChangeMessageVisibility failed', fields, visibilityError);
    }
    deps.log.warn('transient failure; retrying in place', { ...fields, visibilitySeconds: seconds });
    throw new RecordNotDoneError(classified.class, classified.code, { cause: error });
  }

  const parkedClass: FailureClass = exhausted ? 'EXHAUSTED' : classified.class;
  const reason = exhausted
    ? cutMessage(
        `gave up after ${receiveCount} receives (maxReceiveCount ${deps.maxReceiveCount}); last failure: ${classified.message}`,
      )
    : classified.message;
  const previous: FailureRecord | undefined = unwrapped?.failure;
  const nextAttemptAt =
    classified.class === 'OVER_QUOTA'
      ? overQuotaNextAttempt((previous?.attempts ?? 0) + 1, deps.overQuotaBackoff, deps.now())
      : undefined;
  const message = buildDlqMessage({
    body: unwrapped?.body ?? record.body,
    attributes: unwrapped?.attributes ?? record.messageAttributes,
    messageId: record.messageId,
    ...(previous ? { previous } : {}),
    failure: {
      class: parkedClass,
      code: classified.code,
      message: reason,
      lane: laneOfRecord(record),
      ...(ctx.envelope ? { source: ctx.envelope.source, eventId: ctx.envelope.id } : {}),
      ...(ctx.rule ? { ruleId: ctx.rule.rule.ruleId } : {}),
      ...(ctx.clientToken ? { clientToken: ctx.clientToken } : {}),
    },
    now: deps.now(),
    ...(nextAttemptAt ? { nextAttemptAt } : {}),
  });
  try {
    await deps.queue.sendToDlq(message);
  } catch (dlqError) {
    deps.log.error('could not park the message in the DLQ; SQS keeps it', fields, dlqError);
    throw new RecordNotDoneError(parkedClass, 'DlqSendFailed', { cause: dlqError });
  }
  if (exhausted) {
    deps.metrics.count('Transient', { code: classified.code });
    deps.log.warn('transient failure on the last allowed receive; parked in the DLQ as EXHAUSTED', {
      ...fields,
      failureClass: parkedClass,
    });
  } else if (classified.class === 'OVER_QUOTA') {
    deps.metrics.count('OverQuota', { code: classified.code });
    deps.log.warn('over quota; parked in the DLQ until the redrive replays it', {
      ...fields,
      ...(nextAttemptAt ? { nextAttemptAt: nextAttemptAt.toISOString() } : {}),
    });
  } else {
    deps.metrics.count('Permanent', { code: classified.code });
    deps.log.warn('permanent failure; parked in the DLQ', { ...fields, reason: classified.message });
  }
  return {
    status: 'parked',
    failureClass: parkedClass,
    code: classified.code,
    reason,
  };
}
