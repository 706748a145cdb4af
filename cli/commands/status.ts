/**
 * `task-ingest status [--minutes N] [--dlq-scan N] [--json]`: one look at the service.
 *
 * - Backlog per lane queue (ApproximateNumberOfMessages / NotVisible / Delayed); a lane queue that
 *   does not exist (yet) is reported as missing.
 * - The DLQ: its counts, and its messages by failure class, read as `dlq list` reads them (held for
 *   the pass, then visible again; at most --dlq-scan messages; 0 reads none).
 * - Per operation (StartTaskContact, TransferContact) the shared budget: ceiling, current budget,
 *   last throttle, fallbacks to the local rate, calls and throttles of the last N minutes, the rate
 *   actually achieved and its share of the budget, per-lane grants and mean waits
 *   (lib/budget/status.ts). No budget item = no calls yet.
 * - The estimated time to drain the lane backlog: backlog ÷ the StartTaskContact rate achieved over
 *   the window, or ÷ the current budget when nothing ran; the output says which.
 *
 * Read-only apart from the DLQ pass. Exit code 0 whatever the figures say; 1 when AWS cannot be
 * read (other than a missing lane queue, DLQ or budget table), 2 for a usage error.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { type Command, InvalidArgumentError } from 'commander';
import { describeError, toJson } from '#cli/context.ts';
import {
  type BudgetStatus,
  DEFAULT_STATUS_MINUTES,
  type DrainEstimate,
  estimateDrain,
  MAX_STATUS_MINUTES,
  type OperationStatus,
  readBudgetStatus,
} from '#lib/budget/status.ts';
import { createDynamoBudgetStatusPort } from '#lib/budget/status-store.ts';
import { now as clockNow } from '#lib/clock.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { listDlq } from '#lib/redrive/dlq-ops.ts';
import { createSqsPort } from '#lib/redrive/sqs-port.ts';
import type { FailureClass } from '#lib/retry/failure-record.ts';

export interface StatusCommandDeps {
  sqs: SQSClient;
  dynamo: DynamoDBClient;
  budgetTable: string;
  /** A lane queue's URL; rejects (with the SDK error as cause) when it does not exist. */
  laneQueueUrl(lane: Lane): Promise<string>;
  dlqUrl(): Promise<string>;
  stage?: string;
  now?: () => number;
}

export const DEFAULT_STATUS_DLQ_SCAN = 100;
const MAX_STATUS_DLQ_SCAN = 10_000;

interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
  total: number;
}

export type LaneBacklog = { lane: Lane; url: string; missing: false } & QueueCounts;
export type MissingLane = { lane: Lane; missing: true; reason: string };

/** Failure classes, plus NO_RECORD for a DLQ message without a readable failure record. */
type DlqClass = FailureClass | 'NO_RECORD';

export interface DlqStatus {
  missing: boolean;
  reason?: string;
  url?: string;
  counts?: QueueCounts;
  /** Messages read by the pass (≤ --dlq-scan). */
  scanned: number;
  /** True when the pass read the whole queue (or the queue reported nothing to read). */
  complete: boolean;
  byClass: Partial<Record<DlqClass, { count: number; oldestFirstFailureAt: string | null }>>;
}

export interface StatusReport {
  at: string;
  stage: string | null;
  lanes: Array<LaneBacklog | MissingLane>;
  /** Messages waiting in the lane queues that exist (visible + in flight + delayed). */
  backlog: number;
  dlq: DlqStatus;
  budget: { table: string; missing: false; status: BudgetStatus } | { table: string; missing: true };
  /** Time to drain the lane backlog, from StartTaskContact's figures. */
  drain: DrainEstimate;
}

const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** True when the error (or one of its causes) says the queue does not exist. */
function isMissingQueue(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { Code?: unknown }).Code;
    if (MISSING_QUEUE.has(e.name) || (typeof code === 'string' && MISSING_QUEUE.has(code))) return true;
  }
  return false;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : describeError(error);
}

function isMissingTable(error: unknown): boolean {
  return error instanceof Error && error.name === 'ResourceNotFoundException';
}

function minutesOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_STATUS_MINUTES) {
    throw new InvalidArgumentError(`expected whole minutes, 1..${MAX_STATUS_MINUTES}.`);
  }
  return n;
}

function scanOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_STATUS_DLQ_SCAN) {
    throw new InvalidArgumentError(`expected a whole number, 0..${MAX_STATUS_DLQ_SCAN}.`);
  }
  return n;
}

async function queueCounts(sqs: SQSClient, url: string): Promise<QueueCounts> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const count = (name: QueueAttributeName) => {
    const n = Number(out.Attributes?.[name] ?? 0);
    return Number.isFinite(n) ? n : 0;
  };
  const visible = count('ApproximateNumberOfMessages');
  const inFlight = count('ApproximateNumberOfMessagesNotVisible');
  const delayed = count('ApproximateNumberOfMessagesDelayed');
  return { visible, inFlight, delayed, total: visible + inFlight + delayed };
}

async function laneBacklog(deps: StatusCommandDeps, lane: Lane): Promise<LaneBacklog | MissingLane> {
  try {
    const url = await deps.laneQueueUrl(lane);
    return { lane, url, missing: false, ...(await queueCounts(deps.sqs, url)) };
  } catch (error) {
    if (isMissingQueue(error)) return { lane, missing: true, reason: messageOf(error) };
    throw error;
  }
}

async function dlqStatus(deps: StatusCommandDeps, maxScan: number, nowMs: number): Promise<DlqStatus> {
  let url: string;
  let counts: QueueCounts;
  try {
    url = await deps.dlqUrl();
    counts = await queueCounts(deps.sqs, url);
  } catch (error) {
    if (!isMissingQueue(error)) throw error;
    return { missing: true, reason: messageOf(error), scanned: 0, complete: true, byClass: {} };
  }
  const byClass: DlqStatus['byClass'] = {};
  if (maxScan === 0 || counts.visible === 0) {
    return { missing: false, url, counts, scanned: 0, complete: counts.visible === 0, byClass };
  }
  const listed = await listDlq({ sqs: createSqsPort(deps.sqs), dlqUrl: url, now: () => nowMs }, { maxScan });
  for (const entry of listed.entries) {
    const cls: DlqClass = entry.failure?.class ?? 'NO_RECORD';
    const first =
      entry.failure?.firstFailureAt ?? (entry.sentAt ? new Date(entry.sentAt).toISOString() : null);
    const sums = byClass[cls] ?? { count: 0, oldestFirstFailureAt: null };
    sums.count += 1;
    if (first !== null && (sums.oldestFirstFailureAt === null || first < sums.oldestFirstFailureAt)) {
      sums.oldestFirstFailureAt = first;
    }
    byClass[cls] = sums;
  }
  return {
    missing: false,
    url,
    counts,
    scanned: listed.scanned,
    complete: listed.stoppedBy !== 'limit',
    byClass,
  };
}

async function budgetStatus(deps: StatusCommandDeps, minutes: number, nowMs: number) {
  try {
    const status = await readBudgetStatus({
      port: createDynamoBudgetStatusPort({ client: deps.dynamo, tableName: deps.budgetTable }),
      now: nowMs,
      minutes,
    });
    return { table: deps.budgetTable, missing: false as const, status };
  } catch (error) {
    if (isMissingTable(error)) return { table: deps.budgetTable, missing: true as const };
    throw error;
  }
}

/** Gathers the whole report (lanes, DLQ and budget are read in parallel). */
export async function collectStatus(
  deps: StatusCommandDeps,
  options: { minutes: number; dlqScan: number },
): Promise<StatusReport> {
  const nowMs = (deps.now ?? clockNow)();
  const [lanes, dlq, budget] = await Promise.all([
    Promise.all(LANES.map((lane) => laneBacklog(deps, lane))),
    dlqStatus(deps, options.dlqScan, nowMs),
    budgetStatus(deps, options.minutes, nowMs),
  ]);
  const backlog = lanes.reduce((sum, lane) => sum + (lane.missing ? 0 : lane.total), 0);
  const startTask = budget.missing
    ? undefined
    : budget.status.operations.find((o) => o.operation === 'StartTaskContact');
  return {
    at: new Date(nowMs).toISOString(),
    stage: deps.stage ?? null,
    lanes,
    backlog,
    dlq,
    budget,
    drain: estimateDrain(backlog, startTask),
  };
}

// ─── Human output ─────────────────────────────────────────────────────────────────────────────

function duration(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7_200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${(s / 3_600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}

function ago(isoTime: string | null, nowMs: number): string {
  return isoTime === null ? 'never' : `${duration((nowMs - Date.parse(isoTime)) / 1000)} ago`;
}

const rate = (perSecond: number) => `${perSecond.toFixed(2)}/s`;
const percent = (share: number | null) => (share === null ? '-' : `${(share * 100).toFixed(1)}%`);

function table(rows: string[][], rightFrom = 1): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i >= rightFrom ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

function operationLines(op: OperationStatus, nowMs: number): string[] {
  const lines = [`${op.operation}`];
  if (!op.hasBudget) {
    lines.push('  no calls yet (no budget item)');
  } else {
    const budget = op.budget
      ? `budget ${rate(op.budget.ratePerSecond)} (${percent(op.budget.fraction)} of the ceiling, ${op.budget.phase})`
      : 'budget -';
    lines.push(`  ceiling ${op.ceiling === null ? '-' : rate(op.ceiling)}, ${budget}`);
    lines.push(
      op.lastThrottle
        ? `  last throttle ${ago(op.lastThrottle.at, nowMs)} (${op.lastThrottle.at}), hold ${percent(op.lastThrottle.hold)}`
        : '  never throttled',
    );
    lines.push(
      `  fallback to the local rate: ${op.fallback.recent ? 'YES, in the window' : 'not in the window'} (last ${ago(op.fallback.lastAt, nowMs)})`,
    );
  }
  const w = op.window;
  if (!op.hasBudget && w.calls === 0) return lines;
  lines.push(
    `  last ${w.minutes} min: ${w.calls} calls, ${w.throttled} throttled (${percent(w.throttledShare)}),` +
      ` achieved ${rate(w.achievedPerSecond)} = ${percent(w.budgetShare)} of the budget`,
  );
  const minuteRows = [['  minute (UTC)', 'calls', 'throttled']];
  for (const m of op.minutes)
    minuteRows.push([`  ${m.startsAt.slice(11, 16)}`, String(m.calls), String(m.throttled)]);
  lines.push(...table(minuteRows));
  const active = LANES.filter((lane) => op.lanes[lane].granted > 0 || op.lanes[lane].lastDemandAt !== null);
  if (active.length > 0) {
    const laneRows = [['  lane', 'granted', 'per second', 'mean wait', 'last demand']];
    for (const lane of active) {
      const l = op.lanes[lane];
      laneRows.push([
        `  ${lane}`,
        String(l.granted),
        rate(l.grantedPerSecond),
        l.meanWaitMs === null ? '-' : `${Math.round(l.meanWaitMs)}ms`,
        ago(l.lastDemandAt, nowMs),
      ]);
    }
    lines.push(...table(laneRows));
  }
  return lines;
}

function drainLine(drain: DrainEstimate): string {
  switch (drain.basis) {
    case 'empty':
      return 'Drain: nothing waiting in the lane queues';
    case 'achieved':
      return `Drain: about ${duration(drain.seconds ?? 0)} for ${drain.backlog} message(s) at the achieved ${rate(drain.ratePerSecond ?? 0)} (StartTaskContact, last minutes)`;
    case 'budget':
      return `Drain: about ${duration(drain.seconds ?? 0)} for ${drain.backlog} message(s) at the current budget ${rate(drain.ratePerSecond ?? 0)} (nothing ran in the window)`;
    default:
      return `Drain: unknown for ${drain.backlog} message(s) (no StartTaskContact calls and no budget yet)`;
  }
}

export function formatStatus(report: StatusReport): string {
  const nowMs = Date.parse(report.at);
  const lines: string[] = [];
  const window = report.budget.missing ? '' : `, window ${report.budget.status.minutes} min`;
  lines.push(`connect-task-ingest status (stage ${report.stage ?? '-'}, ${report.at}${window})`, '');

  lines.push('Backlog');
  const rows = [['  lane', 'visible', 'in flight', 'delayed', 'total']];
  for (const lane of report.lanes) {
    if (lane.missing) rows.push([`  ${lane.lane}`, 'missing', '', '', '']);
    else
      rows.push([
        `  ${lane.lane}`,
        String(lane.visible),
        String(lane.inFlight),
        String(lane.delayed),
        String(lane.total),
      ]);
  }
  rows.push(['  all lanes', '', '', '', String(report.backlog)]);
  lines.push(...table(rows));
  for (const lane of report.lanes) if (lane.missing) lines.push(`  (${lane.lane}: ${lane.reason})`);
  lines.push('');

  const dlq = report.dlq;
  if (dlq.missing) {
    lines.push(`DLQ: missing (${dlq.reason ?? ''})`);
  } else {
    const c = dlq.counts;
    lines.push(
      `DLQ: ${c?.visible ?? 0} visible, ${c?.inFlight ?? 0} in flight, ${c?.delayed ?? 0} delayed` +
        (dlq.scanned > 0 ? `; by class, of ${dlq.scanned} read${dlq.complete ? '' : ' (not all)'}:` : ''),
    );
    const classRows = Object.entries(dlq.byClass).map(([cls, sums]) => [
      `  ${cls}`,
      String(sums.count),
      `oldest first failure ${ago(sums.oldestFirstFailureAt, nowMs)}`,
    ]);
    if (classRows.length > 0) lines.push(...table(classRows));
  }
  lines.push('');

  if (report.budget.missing) {
    lines.push(`Budget: table ${report.budget.table} not found`);
  } else {
    for (const op of report.budget.status.operations) lines.push(...operationLines(op, nowMs), '');
  }
  lines.push(drainLine(report.drain));
  return `${lines.join('\n')}\n`;
}

/** Where the command writes: the program's configured output (the CLI's io), else the process. */
function outputOf(command: Command): (text: string) => void {
  const config = command.configureOutput();
  return (text) => (config.writeOut ? config.writeOut(text) : process.stdout.write(text));
}

export function registerStatusCommand(program: Command, deps: () => StatusCommandDeps): Command {
  return program
    .command('status')
    .description(
      'backlog per lane, the DLQ by class, the shared budget and how much of it the service gets, and the time to drain',
    )
    .option(
      '--minutes <n>',
      `window for calls, throttles and the achieved rate (1..${MAX_STATUS_MINUTES})`,
      minutesOption,
      DEFAULT_STATUS_MINUTES,
    )
    .option(
      '--dlq-scan <n>',
      'read at most this many DLQ messages to count them by class (0: counts only)',
      scanOption,
      DEFAULT_STATUS_DLQ_SCAN,
    )
    .option('--json', 'print the report as JSON')
    .action(async (options: { minutes: number; dlqScan: number; json?: boolean }, command: Command) => {
      const out = outputOf(command);
      const report = await collectStatus(deps(), { minutes: options.minutes, dlqScan: options.dlqScan });
      out(options.json ? `${toJson(report)}\n` : formatStatus(report));
    });
}
