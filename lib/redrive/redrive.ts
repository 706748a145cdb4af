/**
 * The DLQ redrive: brings parked messages back to the ingest queue of their lane (the failure
 * record's `lane`; a record written before lanes existed has none and goes back to the normal lane,
 * the ingest queue).
 *
 * Scheduled mode (EventBridge, every few minutes) replays OVER_QUOTA messages whose `nextAttemptAt`
 * has come, defers the others to their due time, and gives up (EXHAUSTED) after the configured number
 * of attempts or age. TRANSIENT messages (ingest spent their retries in place: a fault that outlived
 * them, which is retryable by its nature) are replayed the same way on their own backoff, for
 * `transientRounds` rounds; then they too wait for ops as EXHAUSTED, with a reason that says so.
 * PERMANENT and EXHAUSTED records are left for ops. Ops replay mode replays every message matching a
 * filter, whatever its class (after a rule was fixed, say).
 *
 * Safety:
 * - Send first, delete after. A crash (or a failed delete) between the two leaves the message in both
 *   queues: a duplicate, never a loss. The duplicate is harmless because the replay keeps the body,
 *   the attributes and the failure record, so the envelope id and the ClientToken are the same and the
 *   idempotency record / Connect's ClientToken dedupe the second delivery.
 * - Nothing unreadable is acted on: a message without a readable failure record is reported in
 *   `problems` and left in the DLQ (made visible again at the end of the run).
 * - Messages left alone are made visible again when the run ends (see `scan.ts`): the run does not
 *   re-read them, and `dlq list` sees them as soon as the run is over.
 */

import { randomUUID } from 'node:crypto';
import { DEFAULT_LANE, type Lane, laneOfQueue } from '#lib/lanes.ts';
import { type BackoffConfig, overQuotaNextAttempt } from '#lib/retry/backoff.ts';
import { cutMessage } from '#lib/retry/classify.ts';
import {
  type ReadDlqMessage,
  readDlqMessage,
  rewriteDlqMessage,
  toReplayMessage,
} from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE, type FailureClass, type FailureRecord } from '#lib/retry/failure-record.ts';
import { RedriveError } from './errors.ts';
import { type DlqFilter, matchesFilter } from './filter.ts';
import type { RejectionRecorder } from './rejections.ts';
import { type StopReason, scanQueue, type VisitOutcome } from './scan.ts';
import { type SettledCheck, settledText } from './settled.ts';
import type { ReceivedMessage, SqsPort } from './sqs-port.ts';

/** SQS caps a message's visibility at 12 hours from its receipt; a minute is kept back for the time spent since. */
export const MAX_DEFER_SECONDS = 43_200 - 60;
export const DEFAULT_MAX_SCAN = 1_000;
/** Visibility while a run holds messages, when the caller gives no remaining time. */
const DEFAULT_HOLD_SECONDS = 300;
/**
 * REDRIVE_TRANSIENT_ROUNDS when unset: a message parked TRANSIENT (its retries in place spent) is
 * replayed by the scheduled redrive this many times, each after the redrive backoff, before it waits
 * for ops as EXHAUSTED.
 */
export const DEFAULT_TRANSIENT_ROUNDS = 5;

export interface RedriveLimits {
  /** REDRIVE_MAX_ATTEMPTS: give up once `attempts` or `redriveCount` reaches it. */
  maxAttempts: number;
  /** REDRIVE_MAX_AGE_SECONDS: give up once the first failure is this old. */
  maxAgeSeconds: number;
  /**
   * REDRIVE_TRANSIENT_ROUNDS: a TRANSIENT record is replayed until it has had this many rounds, then
   * left for ops as EXHAUSTED (0: at once).
   * @default DEFAULT_TRANSIENT_ROUNDS
   */
  transientRounds?: number;
}

export interface RedriveDeps {
  sqs: SqsPort;
  dlqUrl: string;
  /** The normal lane's queue. */
  ingestQueueUrl: string;
  /**
   * The other lanes' queues (normal: `ingestQueueUrl` unless given here). A message of a lane without
   * a URL is not replayed: it is reported in `problems` and stays in the DLQ.
   */
  laneQueueUrls?: Partial<Record<Lane, string>>;
  /** Required in scheduled mode. */
  limits?: RedriveLimits;
  /**
   * OVER_QUOTA backoff: an OVER_QUOTA record without `nextAttemptAt` (written by hand or by an older
   * version) is due `base` seconds after its last failure. Without it, such a record is due at once.
   */
  overQuotaBackoff?: BackoffConfig;
  /** The same for a TRANSIENT record without `nextAttemptAt` (REDRIVE_TRANSIENT_BACKOFF_*). */
  transientBackoff?: BackoffConfig;
  /**
   * The time in epoch ms, against which `nextAttemptAt` is due.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Whether an OVER_QUOTA copy's event still waits (settled.ts): scheduled mode deletes one whose task
   * exists or whose event parked again since. Absent: every copy is replayed when due.
   */
  settled?: SettledCheck;
  /** Records the task.rejected outcome of a message given up on (rejections.ts). Absent: none. */
  rejections?: RejectionRecorder;
}

/**
 * One redrive run over the DLQ.
 *
 * @example
 * // what the scheduled function does every few minutes
 * await runRedrive(deps, { mode: 'scheduled', remainingTimeMs: () => context.getRemainingTimeInMillis() });
 * // what `task-ingest dlq replay --source crm --dry-run` does
 * await runRedrive(deps, { mode: 'ops-replay', filter: { source: 'crm' }, dryRun: true });
 */
export interface RedriveOptions {
  /**
   * `scheduled` replays what is due and leaves PERMANENT failures for ops; `ops-replay` replays every
   * message the filter selects, due or not.
   */
  mode: 'scheduled' | 'ops-replay';
  /** Which messages (source, class, code, message ids); every message when absent. */
  filter?: DlqFilter;
  /**
   * Most messages changed (replayed or rewritten as EXHAUSTED) in this run.
   * @default no limit
   */
  max?: number;
  /**
   * Most messages received in this run.
   * @default 1000
   */
  maxScan?: number;
  /**
   * Change nothing; report what would be done.
   * @default false
   */
  dryRun?: boolean;
  /** Lambda's remaining time; the run stops with a few seconds to spare. */
  remainingTimeMs?: () => number;
  /** Awaited before each replay is sent (ops `--rate`). */
  pace?: () => Promise<void>;
  /** Called after every message (progress display). */
  onProgress?: (summary: Readonly<RedriveSummary>) => void;
}

type RedriveActionKind = 'replay' | 'defer' | 'exhaust' | 'leave' | 'drop';

interface RedriveAction {
  messageId: string;
  action: RedriveActionKind;
  class?: FailureClass;
  code?: string;
  source?: string;
  ruleId?: string;
  eventId?: string;
  /** The lane the message failed in: a replay goes to this lane's queue. */
  lane?: Lane;
  /** Why (due, not due until ..., attempts, permanent, ...). Never task contents. */
  reason: string;
}

interface RedriveProblem {
  messageId: string;
  problem: string;
}

export interface RedriveSummary {
  mode: RedriveOptions['mode'];
  dryRun: boolean;
  scanned: number;
  /** In a dry run: would be replayed (and so on). */
  replayed: number;
  deferred: number;
  exhausted: number;
  permanentUntouched: number;
  /** OVER_QUOTA copies deleted because their event no longer waits (settled.ts). */
  superseded: number;
  /** Left alone: not matching the filter, or EXHAUSTED in scheduled mode. */
  skipped: number;
  problems: RedriveProblem[];
  actions: RedriveAction[];
  stoppedBy: StopReason | 'max';
}

type Decision =
  | { kind: 'replay'; reason: string }
  | { kind: 'defer'; seconds: number; reason: string }
  | { kind: 'exhaust'; reason: string }
  | { kind: 'leave'; reason: string; permanent: boolean }
  | { kind: 'drop'; reason: string };

function exhaustionReason(failure: FailureRecord, limits: RedriveLimits, nowMs: number): string | undefined {
  if (failure.attempts >= limits.maxAttempts)
    return `${failure.attempts} attempts (limit ${limits.maxAttempts})`;
  if (failure.redriveCount >= limits.maxAttempts) {
    return `${failure.redriveCount} redrives (limit ${limits.maxAttempts})`;
  }
  // An ops replay of an EXHAUSTED message restarted the budget (`budgetFrom`): the age counts from then.
  const from = failure.budgetFrom ?? failure.firstFailureAt;
  const ageSeconds = Math.floor((nowMs - Date.parse(from)) / 1000);
  if (ageSeconds >= limits.maxAgeSeconds) {
    return failure.budgetFrom === undefined
      ? `first failure ${ageSeconds} s ago (limit ${limits.maxAgeSeconds} s)`
      : `budget restarted ${ageSeconds} s ago (limit ${limits.maxAgeSeconds} s)`;
  }
  return undefined;
}

/**
 * When a parked record is due: its `nextAttemptAt`, else derived from its last failure and `round`
 * (OVER_QUOTA: its parks; TRANSIENT: its redrive rounds).
 */
function dueAt(
  failure: FailureRecord,
  backoff: BackoffConfig | undefined,
  round: number,
): { ms: number; iso: string } | undefined {
  if (failure.nextAttemptAt !== undefined)
    return { ms: Date.parse(failure.nextAttemptAt), iso: failure.nextAttemptAt };
  if (!backoff) return undefined;
  // random 0: the earliest time the backoff allows (base after the last failure), the same on every run.
  const due = overQuotaNextAttempt(round, { ...backoff, random: () => 0 }, Date.parse(failure.lastFailureAt));
  return { ms: due.getTime(), iso: due.toISOString() };
}

/** Replay when due, else defer until then. */
function whenDue(due: { ms: number; iso: string } | undefined, nowMs: number): Decision {
  if (due === undefined) return { kind: 'replay', reason: 'no nextAttemptAt: due now' };
  if (due.ms <= nowMs) return { kind: 'replay', reason: `due since ${due.iso}` };
  const seconds = Math.min(MAX_DEFER_SECONDS, Math.max(1, Math.ceil((due.ms - nowMs) / 1000)));
  return { kind: 'defer', seconds, reason: `due at ${due.iso}` };
}

/** A TRANSIENT record: replayed on its backoff until it has had its rounds, then EXHAUSTED. */
function decideTransient(
  failure: FailureRecord,
  limits: RedriveLimits,
  deps: RedriveDeps,
  nowMs: number,
): Decision {
  const rounds = failure.transientRounds ?? 0;
  const limit = limits.transientRounds ?? DEFAULT_TRANSIENT_ROUNDS;
  if (rounds >= limit) {
    return {
      kind: 'exhaust',
      reason: `${rounds} redrive rounds of transient failures (limit ${limit}, REDRIVE_TRANSIENT_ROUNDS)`,
    };
  }
  return whenDue(dueAt(failure, deps.transientBackoff, rounds + 1), nowMs);
}

function decideScheduled(
  failure: FailureRecord,
  limits: RedriveLimits,
  deps: RedriveDeps,
  nowMs: number,
): Decision {
  switch (failure.class) {
    case 'OVER_QUOTA': {
      const exhausted = exhaustionReason(failure, limits, nowMs);
      if (exhausted) return { kind: 'exhaust', reason: exhausted };
      return whenDue(dueAt(failure, deps.overQuotaBackoff, failure.attempts), nowMs);
    }
    case 'TRANSIENT':
      return decideTransient(failure, limits, deps, nowMs);
    case 'PERMANENT':
      return { kind: 'leave', permanent: true, reason: 'permanent failure: ops decide' };
    case 'EXHAUSTED':
      return { kind: 'leave', permanent: false, reason: 'exhausted: ops decide' };
  }
}

function describe(messageId: string, failure: FailureRecord, decision: Decision): RedriveAction {
  const action: RedriveAction = {
    messageId,
    action: decision.kind,
    class: failure.class,
    code: failure.code,
    reason: decision.reason,
  };
  if (failure.source !== undefined) action.source = failure.source;
  if (failure.ruleId !== undefined) action.ruleId = failure.ruleId;
  if (failure.eventId !== undefined) action.eventId = failure.eventId;
  action.lane = failure.lane ?? DEFAULT_LANE;
  return action;
}

/** The queue a replay of `failure` goes to: its lane's (no lane: the normal lane, the ingest queue). */
function replayQueueUrl(deps: RedriveDeps, failure: FailureRecord): string {
  const lane = failure.lane ?? DEFAULT_LANE;
  const url = deps.laneQueueUrls?.[lane] ?? (lane === DEFAULT_LANE ? deps.ingestQueueUrl : undefined);
  if (url === undefined) throw new RedriveError(`no queue URL for lane ${lane}`);
  return url;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return cutMessage(`${error.name}: ${error.message}`, 300);
  return 'non-Error value thrown';
}

function holdSecondsFor(options: RedriveOptions): number {
  if (!options.remainingTimeMs) return DEFAULT_HOLD_SECONDS;
  const seconds = Math.ceil(options.remainingTimeMs() / 1000) + 30;
  return Math.min(43_200, Math.max(1, seconds));
}

/**
 * The record given to a message that reached the DLQ without one (a lane queue's redrive policy moved
 * it), so that an ops replay carries the same metadata as any other replay. Its lane is the lane of
 * the queue SQS moved it from (`DeadLetterQueueSourceArn`), when SQS reports one.
 */
function unrecordedFailure(messageId: string, nowMs: number, sourceQueueArn?: string): FailureRecord {
  const at = new Date(nowMs).toISOString();
  return {
    v: 1,
    class: 'EXHAUSTED',
    code: 'NoFailureRecord',
    message: 'moved to the DLQ by the queue redrive policy without a failure record',
    eventId: messageId,
    attempts: 0,
    redriveCount: 0,
    firstFailureAt: at,
    lastFailureAt: at,
    originalMessageId: messageId,
    ...(sourceQueueArn ? { lane: laneOfQueue(sourceQueueArn) } : {}),
  };
}

/** One run: its deps and options, the summary it builds, and the EXHAUSTED rewrites it sent. */
interface RedriveRun {
  deps: RedriveDeps;
  options: RedriveOptions;
  clock: () => number;
  dryRun: boolean;
  summary: RedriveSummary;
  /** One id per ops replay run: ingest refreshes a source's rules/templates once per id (FailureRecord). */
  replayId: string | undefined;
  /**
   * The EXHAUSTED rewrites this run sent to the DLQ: the same pass receives them again, and they are
   * its own output, not messages to count, skip or act on (they are released at the end like any other).
   */
  rewritten: Set<string>;
}

/** A message the run acts on: as received, as read, its failure record and the decision. */
interface Target {
  message: ReceivedMessage;
  read: ReadDlqMessage;
  failure: FailureRecord;
  decision: Decision;
}

function checkOptions(deps: RedriveDeps, options: RedriveOptions): void {
  const limits = deps.limits;
  if (options.mode === 'scheduled') {
    // The types let an ops replay's deps omit `limits`; only the scheduled mode needs them.
    if (!limits) throw new TypeError('runRedrive: scheduled mode needs limits (maxAttempts, maxAgeSeconds)');
  }
}

function emptySummary(options: RedriveOptions, dryRun: boolean): RedriveSummary {
  return {
    mode: options.mode,
    dryRun,
    scanned: 0,
    replayed: 0,
    deferred: 0,
    exhausted: 0,
    permanentUntouched: 0,
    superseded: 0,
    skipped: 0,
    problems: [],
    actions: [],
    stoppedBy: 'empty',
  };
}

function problem(run: RedriveRun, message: ReceivedMessage, text: string): 'hold' {
  run.summary.problems.push({ messageId: message.messageId, problem: text });
  return 'hold';
}

/** Left alone: counted, made visible again at the end. */
async function leave(run: RedriveRun, { decision }: Target): Promise<VisitOutcome> {
  if (decision.kind === 'leave' && decision.permanent) run.summary.permanentUntouched += 1;
  else run.summary.skipped += 1;
  return 'hold';
}

/** Not due yet: hidden until it is. */
async function defer(run: RedriveRun, { message, decision }: Target): Promise<VisitOutcome> {
  if (decision.kind !== 'defer') return 'hold';
  run.summary.deferred += 1;
  if (run.dryRun) return 'hold';
  try {
    await run.deps.sqs.changeVisibility(run.deps.dlqUrl, message.receiptHandle, decision.seconds);
    return 'done';
  } catch (error) {
    run.summary.deferred -= 1;
    return problem(run, message, `defer failed: ${errorText(error)}`);
  }
}

/** Sends the replay to its lane's queue (a fresh budget for an ops replay of an EXHAUSTED message). */
async function sendReplay(run: RedriveRun, { read, failure }: Target, url: string): Promise<void> {
  // An ops replay of an EXHAUSTED message gets a fresh redrive budget: its attempts and age
  // would otherwise make the scheduled redrive give up at once if it meets the quota again.
  const { replayId } = run;
  const outgoing = toReplayMessage(read, {
    redriveCount: failure.redriveCount + 1,
    ...(replayId === undefined ? {} : { replayId }),
    ...(replayId === undefined && failure.class === 'TRANSIENT' ? { transientRound: true } : {}),
    ...(replayId !== undefined && failure.class === 'EXHAUSTED'
      ? { freshBudgetAt: new Date(run.clock()).toISOString() }
      : {}),
  });
  await run.options.pace?.();
  await run.deps.sqs.send(url, outgoing);
}

/** Sends the EXHAUSTED rewrite of the record to the DLQ (the run then skips it). */
async function sendExhausted(run: RedriveRun, target: Target): Promise<void> {
  const { read, failure, decision } = target;
  const record: FailureRecord = {
    ...failure,
    class: 'EXHAUSTED',
    message: cutMessage(`redrive gave up after ${decision.reason}; last failure: ${failure.message}`),
  };
  delete record.nextAttemptAt;
  const sent = await run.deps.sqs.send(run.deps.dlqUrl, rewriteDlqMessage(read, record));
  run.rewritten.add(sent.messageId);
  // Given up for good: its publisher hears of it (a failure here leaves the rewrite; ops see both).
  await run.deps.rejections?.(record, sent.messageId).catch((error: unknown) => {
    problem(
      run,
      target.message,
      `EXHAUSTED, but its task.rejected outcome was not recorded: ${errorText(error)}`,
    );
  });
}

/** Replay or give up: send first, then delete; a failed send leaves the message where it was. */
async function sendThenDelete(run: RedriveRun, target: Target): Promise<VisitOutcome> {
  const { message, decision } = target;
  const replay = decision.kind === 'replay';
  let replayUrl = '';
  if (replay) {
    try {
      replayUrl = replayQueueUrl(run.deps, target.failure);
    } catch (error) {
      return problem(run, message, `replay failed, message left in the DLQ: ${errorText(error)}`);
    }
  }
  const count = () => {
    if (replay) run.summary.replayed += 1;
    else run.summary.exhausted += 1;
  };
  if (run.dryRun) {
    count();
    return 'hold';
  }
  try {
    if (replay) await sendReplay(run, target, replayUrl);
    else await sendExhausted(run, target);
  } catch (error) {
    return problem(run, message, `${decision.kind} failed, message left in the DLQ: ${errorText(error)}`);
  }
  count();
  try {
    await run.deps.sqs.delete(run.deps.dlqUrl, message.receiptHandle);
  } catch (error) {
    problem(
      run,
      message,
      `sent but not deleted from the DLQ (a duplicate; the ClientToken dedupes it): ${errorText(error)}`,
    );
  }
  return 'done';
}

/** An OVER_QUOTA copy whose event no longer waits: deleted (counted, not deleted, in a dry run). */
async function drop(run: RedriveRun, { message }: Target): Promise<VisitOutcome> {
  run.summary.superseded += 1;
  if (run.dryRun) return 'hold';
  try {
    await run.deps.sqs.delete(run.deps.dlqUrl, message.receiptHandle);
    return 'done';
  } catch (error) {
    run.summary.superseded -= 1;
    return problem(run, message, `delete failed: ${errorText(error)}`);
  }
}

const ACTIONS: Record<RedriveActionKind, (run: RedriveRun, target: Target) => Promise<VisitOutcome>> = {
  leave,
  defer,
  drop,
  replay: sendThenDelete,
  exhaust: sendThenDelete,
};

/** Records the action in the summary and carries it out. */
async function act(run: RedriveRun, target: Target): Promise<VisitOutcome> {
  run.summary.actions.push(describe(target.message.messageId, target.failure, target.decision));
  return await ACTIONS[target.decision.kind](run, target);
}

/** What the run does with a message it received: a target to act on, or why it leaves it. */
function decide(
  run: RedriveRun,
  message: ReceivedMessage,
  nowMs: number,
): Target | 'skip' | { problem: string } {
  const { options, deps } = run;
  const read = readDlqMessage({ Body: message.body, MessageAttributes: message.attributes });
  // Without a readable record a message matches only an id-only (or no) filter: see filter.ts.
  if (!matchesFilter(options.filter, message.messageId, read.failure, nowMs)) return 'skip';
  if (
    options.mode === 'ops-replay' &&
    !read.failure &&
    !(FAILURE_ATTRIBUTE in (message.attributes ?? {})) &&
    options.filter?.messageIds?.includes(message.messageId)
  ) {
    // Moved here by the queue's redrive policy (no record at all) and named by ops: replay it. Left
    // unnamed it is only reported. The SQS message id survives that move, so it becomes
    // the event id a raw message without an `id` attribute is known by, as on any first DLQ trip.
    const failure = unrecordedFailure(message.messageId, nowMs, message.sourceQueueArn);
    return {
      message,
      read: { body: read.body, attributes: read.attributes, failure },
      failure,
      decision: { kind: 'replay', reason: 'ops replay (no failure record)' },
    };
  }
  if (read.problem !== undefined || !read.failure) return { problem: read.problem ?? 'no failure record' };
  const failure = read.failure;
  const decision: Decision =
    options.mode === 'scheduled' && deps.limits
      ? decideScheduled(failure, deps.limits, deps, nowMs)
      : { kind: 'replay', reason: `ops replay (${failure.class})` };
  return { message, read, failure, decision };
}

/** In scheduled mode, an OVER_QUOTA copy whose event no longer waits becomes a `drop`. */
async function settle(
  run: RedriveRun,
  target: ReturnType<typeof decide>,
): Promise<ReturnType<typeof decide>> {
  if (
    run.options.mode !== 'scheduled' ||
    !run.deps.settled ||
    typeof target !== 'object' ||
    'problem' in target
  )
    return target;
  if (target.failure.class !== 'OVER_QUOTA' || target.decision.kind === 'leave') return target;
  const reason = await run.deps.settled(target.failure);
  return reason === undefined
    ? target
    : { ...target, decision: { kind: 'drop', reason: settledText(reason) } };
}

async function visit(
  run: RedriveRun,
  message: ReceivedMessage,
): Promise<{ outcome: VisitOutcome; stop: boolean }> {
  if (run.rewritten.has(message.messageId)) return { outcome: 'hold', stop: false };
  const { summary, options } = run;
  summary.scanned += 1;
  const target = await settle(run, decide(run, message, run.clock()));
  let outcome: VisitOutcome = 'hold';
  if (target === 'skip') summary.skipped += 1;
  else if ('problem' in target) problem(run, message, target.problem);
  else outcome = await act(run, target);
  options.onProgress?.(summary);
  const changes = summary.replayed + summary.exhausted;
  return { outcome, stop: options.max !== undefined && changes >= options.max };
}

/**
 * Runs one redrive pass over the DLQ.
 *
 * Input: the SQS port and queue URLs (plus the give-up limits for scheduled mode); the mode, an
 * optional filter, limits on changes (`max`), receives (`maxScan`) and time, `dryRun`.
 * Output: a summary: counts, problems, and one action per message that matched.
 * Primary course (scheduled): receive DLQ messages in batches; for each readable OVER_QUOTA record:
 * give up if it reached the attempt or age limit (send the EXHAUSTED record to the DLQ, then delete
 * the old message), replay it when due (send to its lane's queue with `redriveCount + 1`, then delete
 * it from the DLQ), or hide it until it is due. A TRANSIENT record the same way, its limit its rounds
 * (`transientRounds + 1` on each replay). Ops replay: replay every matching message.
 * Alternatives: unreadable record → `problems`, left in place; `dryRun` → nothing sent, deleted or
 * deferred (held messages are made visible again); a failed send leaves the message where it was; a
 * failed delete after a successful send leaves a duplicate (reported in `problems`).
 * Receive failures end the run with `RedriveError` (held messages are released first).
 */
export async function runRedrive(deps: RedriveDeps, options: RedriveOptions): Promise<RedriveSummary> {
  checkOptions(deps, options);
  const dryRun = options.dryRun ?? false;
  const run: RedriveRun = {
    deps,
    options,
    clock: deps.now ?? Date.now,
    dryRun,
    summary: emptySummary(options, dryRun),
    replayId: options.mode === 'ops-replay' ? randomUUID() : undefined,
    rewritten: new Set<string>(),
  };
  try {
    const result = await scanQueue(deps.sqs, {
      queueUrl: deps.dlqUrl,
      maxScan: options.maxScan ?? DEFAULT_MAX_SCAN,
      holdSeconds: holdSecondsFor(options),
      visit: (message) => visit(run, message),
      ...(options.remainingTimeMs ? { remainingTimeMs: options.remainingTimeMs } : {}),
    });
    run.summary.stoppedBy = result.stoppedBy === 'visitor' ? 'max' : result.stoppedBy;
  } catch (error) {
    throw new RedriveError(`redrive stopped: ${errorText(error)}`, { cause: error });
  }
  return run.summary;
}
