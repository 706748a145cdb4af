/**
 * What `task-ingest status` reports, gathered (the human output: cli/commands/status/format.ts).
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
 * - The open tasks per instance against the active-task quota (cli/commands/status/open-tasks.ts).
 *
 * Read-only apart from the DLQ pass. Exit code 0 whatever the figures say; 1 when AWS cannot be
 * read (other than a missing lane queue, DLQ or budget table), 2 for a usage error.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { isMissingQueue, isMissingTable } from '#cli/commands/status/missing.ts';
import type { OpenTasksStatus } from '#cli/commands/status/open-tasks.ts';
import { describeError } from '#cli/errors.ts';
import {
  type BudgetStatus,
  type DrainEstimate,
  estimateDrain,
  readBudgetStatus,
} from '#lib/budget/status.ts';
import { createDynamoBudgetStatusPort } from '#lib/budget/status-store.ts';
import { LANES, type Lane } from '#lib/lanes.ts';
import { listDlq } from '#lib/redrive/dlq-ops.ts';
import type { SqsPort } from '#lib/redrive/sqs-port.ts';
import type { FailureClass } from '#lib/retry/failure-record.ts';

export interface StatusDeps {
  sqs: SQSClient;
  /** Passes over the DLQ (cli/commands/dlq/shared.ts: no long poll against the sandbox). */
  queuePort: SqsPort;
  dynamo: DynamoDBClient;
  budgetTable: string;
  /** A lane queue's URL; rejects (with the SDK error as cause) when it does not exist. */
  laneQueueUrl(lane: Lane): Promise<string>;
  dlqUrl(): Promise<string>;
  stage?: string;
  /** Epoch ms: the run's clock (the sandbox's against the sandbox). */
  now: () => number;
  /** The open tasks per instance against the quota (cli/commands/status/open-tasks.ts). */
  openTasks(): Promise<OpenTasksStatus>;
}

interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
  total: number;
}

type LaneBacklog = { lane: Lane; url: string; missing: false } & QueueCounts;
type MissingLane = { lane: Lane; missing: true; reason: string };

/** Failure classes, plus NO_RECORD for a DLQ message without a readable failure record. */
type DlqClass = FailureClass | 'NO_RECORD';

interface DlqStatus {
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
  /** The service's open tasks per instance against the active-task quota. */
  openTasks: OpenTasksStatus;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : describeError(error);
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

async function laneBacklog(deps: StatusDeps, lane: Lane): Promise<LaneBacklog | MissingLane> {
  try {
    const url = await deps.laneQueueUrl(lane);
    return { lane, url, missing: false, ...(await queueCounts(deps.sqs, url)) };
  } catch (error) {
    if (isMissingQueue(error)) return { lane, missing: true, reason: messageOf(error) };
    throw error;
  }
}

async function dlqStatus(deps: StatusDeps, maxScan: number, nowMs: number): Promise<DlqStatus> {
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
  const listed = await listDlq({ sqs: deps.queuePort, dlqUrl: url, now: () => nowMs }, { maxScan });
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

async function budgetStatus(deps: StatusDeps, minutes: number, nowMs: number) {
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
  deps: StatusDeps,
  options: { minutes: number; dlqScan: number },
): Promise<StatusReport> {
  const nowMs = deps.now();
  const [lanes, dlq, budget, openTasks] = await Promise.all([
    Promise.all(LANES.map((lane) => laneBacklog(deps, lane))),
    dlqStatus(deps, options.dlqScan, nowMs),
    budgetStatus(deps, options.minutes, nowMs),
    deps.openTasks(),
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
    openTasks,
  };
}
