/**
 * Sharing Connect's StartTaskContact quota: the service's shared, adaptive budget (lib/budget/)
 * against no shaping at all, side by side in the same run, on the sandbox whose Connect emulator enforces the quota with one account-wide token
 * bucket (rate = burst = quota).
 *
 * Configurations (bench/workload.ts, Shaping):
 * - shared: the service, one budget for all instances in the budget table;
 * - naive: no shaping, 3 SDK attempts, no ChangeMessageVisibility backoff, visibility timeout 30 s.
 *
 * Scenarios:
 * - (a) a backlog drained with K = 2, 4, 8 instances at 2/s and 20/s;
 * - (b) a second caller the service cannot see spends part of the quota for a while (2/s, K = 4);
 * - (c) urgent events arrive while a large bulk backlog drains (2/s, the default lane concurrencies).
 */
import { ConnectClient, StartTaskContactCommand } from '@aws-sdk/client-connect';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { seededRandom } from '#common/random.ts';
import { now } from '#lib/clock.ts';
import { SANDBOX_CREDENTIALS } from '#sandbox/index.ts';
import { type Cell, fmt, percentile, type Reporter, secondsBackToQuota } from './report.ts';
import {
  type BacklogMessage,
  caseMessages,
  NAIVE_RATE,
  NAIVE_VISIBILITY_TIMEOUT_SECONDS,
  type PipelineRun,
  RULE_FILE,
  type RunContext,
  readJson,
  runIngestPipeline,
  type Shaping,
  sleep,
  sumCounts,
} from './workload.ts';

export const SHAPINGS: readonly Shaping[] = ['shared', 'naive'];

/**
 * Narrowing a run (for repeated measurements of one part): QUOTA_SCENARIOS=a,b,c,
 * QUOTA_SHAPINGS=shared,naive, QUOTA_RATES=2,20 (scenario a). Unset: everything.
 */
function selected<T extends string | number>(variable: string, all: readonly T[]): readonly T[] {
  const raw = process.env[variable];
  if (!raw) return all;
  const wanted = new Set(raw.split(',').map((v) => v.trim()));
  return all.filter((v) => wanted.has(String(v)));
}

const share = (part: number, whole: number) => (whole > 0 ? part / whole : 0);

// ---- (a) drain figures (also the goodput bench's) ------------------------------------------------

export interface DrainFigures {
  messages: number;
  tasks: number;
  dlq: number;
  /** False when the drain did not finish within its time limit. */
  drained: boolean;
  /** (tasks − 1) / (last − first InitiationTimestamp), tasks per second. */
  goodput: number;
  /** tasks / (last InitiationTimestamp − pipeline start), tasks per second. */
  goodputFromStart: number;
  /** Last − first InitiationTimestamp, seconds. */
  drainSeconds: number;
  calls: number;
  throttled: number;
  throttledShare: number;
  /** StartTaskContact calls per task created. */
  callsPerTask: number;
  /** Send (SentTimestamp) to task (InitiationTimestamp), seconds. */
  latencyP50: number;
  latencyP99: number;
  /** Records the handler reported failed (transient), i.e. redeliveries caused. */
  recordRetries: number;
  /** Invocations that failed as a whole, by error name (nothing deleted: all redelivered later). */
  failedBatches: Record<string, number>;
}

/** The figures of a drained (or cut off) backlog of `messages`, every task being the ingest's. */
export function drainFigures(run: PipelineRun, messages: number): DrainFigures {
  const initiated = run.tasks.map((c) => Date.parse(c.InitiationTimestamp)).sort((a, b) => a - b);
  const first = initiated[0] ?? Number.NaN;
  const last = initiated[initiated.length - 1] ?? Number.NaN;
  const tasks = run.tasks.length;
  const drainSeconds = (last - first) / 1000;
  const latencies = run.tasks.flatMap((c) => {
    const sent = run.sent.get(c.ContactId);
    return sent === undefined ? [] : [(Date.parse(c.InitiationTimestamp) - sent.sentAt) / 1000];
  });
  const calls = sumCounts(run.calls);
  const throttled = run.calls.ThrottlingException ?? 0;
  return {
    messages,
    tasks,
    dlq: run.dlq,
    drained: run.drained,
    goodput: tasks > 1 && drainSeconds > 0 ? (tasks - 1) / drainSeconds : Number.NaN,
    goodputFromStart: tasks > 0 ? tasks / ((last - run.started) / 1000) : Number.NaN,
    drainSeconds,
    calls,
    throttled,
    throttledShare: share(throttled, calls),
    callsPerTask: tasks > 0 ? calls / tasks : Number.NaN,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    recordRetries: run.recordRetries,
    failedBatches: run.failedBatches,
  };
}

/** What the instances' budget was: "shared 2/s", "none". */
function budgetLabel(run: PipelineRun, shaping: Shaping): string {
  const b = run.budget;
  if (shaping === 'naive' || b === undefined) return 'none';
  return `shared ${b.ceiling}/s`;
}

/** A progress line: how long the run took, and its stop (in-flight invocations finishing). */
function progress(report: Reporter, run: PipelineRun): void {
  report.line(
    `    ran ${fmt((run.ended - run.started) / 1000, 1)} s, stopped in ${fmt(run.stopSeconds, 1)} s; budget ${run.budget?.ceiling ?? '?'}/s`,
  );
}

interface DrainRow extends DrainFigures {
  shaping: Shaping;
  quota: number;
  concurrency: number;
  budget: string;
}

/** Seconds of drain each (a) run is sized for at the quota. */
const DRAIN_SECONDS = { full: 30, quick: 8 };

async function scenarioA(report: Reporter, quick: boolean): Promise<void> {
  const quotas = selected('QUOTA_RATES', [2, 20]);
  const ks = quick ? [4] : [2, 4, 8];
  const seconds = quick ? DRAIN_SECONDS.quick : DRAIN_SECONDS.full;
  report.line('');
  report.line('== quota (a): a backlog drained by K instances ==');
  report.line(
    `Each run: quota × ${seconds} s messages on the normal lane's queue, emulator rate = burst = START_TASK_RATE = quota, ` +
      `maximumConcurrency = K. goodput ÷ quota from the first to the last task; throttled % = ThrottlingException ÷ all calls; ` +
      `latency = InitiationTimestamp − SentTimestamp; retries = records failed (redelivered); failed batches = invocations that ` +
      `failed as a whole, e.g. the function timeout (nothing deleted: their records come back after the ` +
      `visibility timeout, 360 s, even when their tasks were created, so the queue is not idle). A run stops after ${2 * seconds} s (naive) or ` +
      `${Math.max(60, 4 * seconds)} s (shared) at most ("cut off").`,
  );
  for (const quota of quotas) {
    const rows: Cell[][] = [];
    for (const concurrency of ks) {
      const count = quota * seconds;
      const backlog = caseMessages(count, `qa-${quota}-${concurrency}`);
      for (const shaping of selected('QUOTA_SHAPINGS', SHAPINGS)) {
        const timeLimitMs = shaping === 'naive' ? 2 * seconds * 1000 : Math.max(60_000, 4 * seconds * 1000);
        report.line(`  running ${shaping}: quota ${quota}/s, K ${concurrency}, ${count} messages…`);
        const run = await runIngestPipeline({
          quota,
          shaping,
          params: { ingestMaxConcurrency: String(concurrency) },
          backlog: { normal: backlog },
          until: { idle: true, timeLimitMs },
        });
        progress(report, run);
        const r: DrainRow = {
          ...drainFigures(run, count),
          shaping,
          quota,
          concurrency,
          budget: budgetLabel(run, shaping),
        };
        report.json('quota', {
          scenario: 'a',
          config: shaping,
          quota,
          concurrency,
          budget: r.budget,
          messages: r.messages,
          tasks: r.tasks,
          dlq: r.dlq,
          drained: r.drained,
          drainSeconds: r.drainSeconds,
          goodputPerQuota: r.goodput / quota,
          calls: r.calls,
          throttled: r.throttled,
          throttledShare: r.throttledShare,
          callsPerTask: r.callsPerTask,
          latencyP50Seconds: r.latencyP50,
          latencyP99Seconds: r.latencyP99,
          recordRetries: r.recordRetries,
          failedBatches: r.failedBatches,
        });
        rows.push([
          r.drained ? shaping : `${shaping} (cut off)`,
          concurrency,
          r.budget,
          r.messages,
          r.tasks,
          r.drainSeconds,
          r.goodput / quota,
          100 * r.throttledShare,
          r.callsPerTask,
          r.latencyP50,
          r.latencyP99,
          r.recordRetries,
          sumCounts(r.failedBatches),
        ]);
        if (shaping === 'shared') {
          const at = `${quota}/s K${concurrency}`;
          const complete = r.tasks === r.messages;
          report.check({
            bench: 'quota',
            figure: `(a) goodput ÷ quota (${at})`,
            value: complete ? r.goodput / quota : 0,
            unit: '',
            target: { op: '>=', limit: 0.98 },
            note: complete ? 'first to last task' : 'not every message became a task',
          });
          report.check({
            bench: 'quota',
            figure: `(a) throttled share (${at})`,
            value: r.throttledShare,
            unit: '',
            target: { op: '<=', limit: 0.01 },
          });
          report.check({
            bench: 'quota',
            figure: `(a) calls per task (${at})`,
            value: r.callsPerTask,
            unit: '',
            target: { op: '<=', limit: 1.02 },
          });
        }
      }
    }
    report.table(
      `quota (a) at ${quota}/s: ${quota * seconds} messages`,
      [
        'config',
        'K',
        'budget',
        'msgs',
        'tasks',
        'drain s',
        'goodput÷quota',
        'throttled %',
        'calls/task',
        'p50 s',
        'p99 s',
        'retries',
        'failed batches',
      ],
      rows,
    );
  }
}

// ---- (b) another caller --------------------------------------------------------------------------

export interface OtherCall {
  /** Epoch ms when the call was sent. */
  at: number;
  /** "200" or the error's name. */
  outcome: string;
}

export interface OtherLog {
  calls: OtherCall[];
  /** The emulator's StartTaskContact counts (every caller) at `fromMs` and when the other caller stopped. */
  countsAtFrom: Record<string, number>;
  countsAtStop: Record<string, number>;
}

/** The attribute that marks the other caller's tasks in the emulator's contact list. */
export const OTHER_ATTRIBUTE = 'benchCaller';

/**
 * A second caller of StartTaskContact on the same account: a plain ConnectClient (1 attempt), its
 * own ClientTokens, the crm-case rule's instance and flow, one call every 0.5–1.5 × `meanGapMs`
 * (default 1 s; seeded) from the pipeline's start until `untilMs`. Then it waits until `untilMs` and
 * snapshots the emulator's counts. (The squeeze bench, bench/squeeze.ts, runs it too.)
 */
export async function otherCaller(
  run: RunContext,
  options: { fromMs: number; untilMs: number; seed: number; label: string; meanGapMs?: number },
): Promise<OtherLog> {
  const rule = readJson<{ instanceId: string; target: { contactFlowId: string } }>(RULE_FILE);
  const client = new ConnectClient({
    endpoint: run.sandbox.endpoint,
    region: run.sandbox.region,
    credentials: SANDBOX_CREDENTIALS,
    maxAttempts: 1,
  });
  const random = seededRandom(options.seed);
  const log: OtherLog = { calls: [], countsAtFrom: {}, countsAtStop: {} };
  const counts = () => ({ ...(run.sandbox.connect.callCounts().StartTaskContact ?? {}) });
  const pending: Array<Promise<void>> = [
    sleep(Math.max(0, run.started + options.fromMs - now())).then(() => {
      log.countsAtFrom = counts();
    }),
  ];
  const stopAt = run.started + options.untilMs;
  try {
    let next = run.started;
    for (let i = 0; ; i += 1) {
      next += (options.meanGapMs ?? 1000) * (0.5 + random());
      if (next >= stopAt) break;
      await sleep(Math.max(0, next - now()));
      const at = now();
      pending.push(
        client
          .send(
            new StartTaskContactCommand({
              InstanceId: rule.instanceId,
              ContactFlowId: rule.target.contactFlowId,
              Name: `Other caller ${i}`,
              Description: 'A task started by another integration on the same account',
              ClientToken: `other-${options.label}-${i}`,
              Attributes: { [OTHER_ATTRIBUTE]: 'other' },
            }),
          )
          .then(
            () => void log.calls.push({ at, outcome: '200' }),
            (error: unknown) =>
              void log.calls.push({ at, outcome: error instanceof Error ? error.name : 'Error' }),
          ),
      );
    }
    await Promise.all(pending);
    await sleep(Math.max(0, stopAt - now()));
    log.countsAtStop = counts();
    return log;
  } finally {
    client.destroy();
  }
}

/** The window at the end of a (b) run whose ingest rate shows where it got back to. */
const LAST_WINDOW_MS = 10_000;

interface SharingFigures {
  otherCalls: number;
  otherOkRate: number;
  /** quota − the other caller's successful rate in the window. */
  leftRate: number;
  ingestRate: number;
  ingestPerLeft: number;
  ingestCalls: number;
  /** Over [0, untilMs). */
  ingestThrottledShare: number;
  otherThrottledShare: number;
  /** Over the window [fromMs, untilMs): after the budget has learnt of the other caller. */
  ingestThrottledShareInWindow: number;
  otherThrottledShareInWindow: number;
  /** Seconds after the other caller stopped until ingest's 5-s rate ≥ 0.95 × quota; Infinity: never. */
  recoverySeconds: number;
  ingestTasks: number;
  /** Ingest tasks/s over the last LAST_WINDOW_MS of the run. */
  ingestRateLast: number;
  backlogLeft: number;
}

function sharingFigures(
  run: PipelineRun,
  log: OtherLog,
  p: { quota: number; fromMs: number; untilMs: number; messages: number },
): SharingFigures {
  const from = run.started + p.fromMs;
  const until = run.started + p.untilMs;
  const windowSeconds = (until - from) / 1000;
  const ingest = run.tasks
    .filter((c) => c.Attributes[OTHER_ATTRIBUTE] === undefined)
    .map((c) => Date.parse(c.InitiationTimestamp))
    .filter((t) => t <= run.ended)
    .sort((a, b) => a - b);
  const ingestRate = ingest.filter((t) => t >= from && t < until).length / windowSeconds;
  const okInWindow = log.calls.filter((c) => c.outcome === '200' && c.at >= from && c.at < until).length;
  const otherOkRate = okInWindow / windowSeconds;
  const leftRate = p.quota - otherOkRate;
  const otherThrottled = log.calls.filter((c) => c.outcome === 'ThrottlingException').length;
  const ingestCalls = sumCounts(log.countsAtStop) - log.calls.length;
  const ingestThrottled = (log.countsAtStop.ThrottlingException ?? 0) - otherThrottled;
  // The same in the window [from, until): emulator counts at both ends, the other's calls sent in it.
  const otherInWindow = log.calls.filter((c) => c.at >= from && c.at < until);
  const otherThrottledInWindow = otherInWindow.filter((c) => c.outcome === 'ThrottlingException').length;
  const ingestCallsInWindow =
    sumCounts(log.countsAtStop) - sumCounts(log.countsAtFrom) - otherInWindow.length;
  const ingestThrottledInWindow =
    (log.countsAtStop.ThrottlingException ?? 0) -
    (log.countsAtFrom.ThrottlingException ?? 0) -
    otherThrottledInWindow;
  const recoverySeconds = secondsBackToQuota(ingest, until, p.quota);
  const lastFrom = run.ended - LAST_WINDOW_MS;
  const ingestRateLast = ingest.filter((t) => t > lastFrom).length / (LAST_WINDOW_MS / 1000);
  return {
    otherCalls: log.calls.length,
    otherOkRate,
    leftRate,
    ingestRate,
    ingestPerLeft: leftRate > 0 ? ingestRate / leftRate : Number.NaN,
    ingestCalls,
    ingestThrottledShare: share(ingestThrottled, ingestCalls),
    otherThrottledShare: share(otherThrottled, log.calls.length),
    ingestThrottledShareInWindow: share(ingestThrottledInWindow, ingestCallsInWindow),
    otherThrottledShareInWindow: share(otherThrottledInWindow, otherInWindow.length),
    recoverySeconds,
    ingestTasks: ingest.length,
    ingestRateLast,
    backlogLeft: p.messages - ingest.length,
  };
}

async function scenarioB(report: Reporter, quick: boolean): Promise<void> {
  const quota = 2;
  const concurrency = 4;
  const untilMs = quick ? 20_000 : 60_000;
  const fromMs = quick ? 5_000 : 15_000;
  const runMs = untilMs + (quick ? 20_000 : 40_000);
  // More than the quota could drain in the whole run: ingest always has a backlog.
  const messages = Math.ceil((1.5 * quota * runMs) / 1000);
  const s = (ms: number) => `${ms / 1000} s`;
  report.line('');
  report.line('== quota (b): another caller on the same quota ==');
  report.line(
    `quota ${quota}/s, K ${concurrency}, ${messages} messages queued (a backlog all run long). Another caller (plain ConnectClient, ` +
      `1 attempt, own ClientTokens) calls StartTaskContact every 0.5–1.5 s (seeded) from 0 to ${s(untilMs)}; the run stops at ${s(runMs)}.`,
  );
  report.line(
    `Window [${s(fromMs)}, ${s(untilMs)}): ingest tasks/s ÷ what the other leaves (quota − its successful calls/s). ` +
      `Throttled shares ("thr %") over [0, ${s(untilMs)}), "win" over the window: the other's client-side, ` +
      `ingest's = emulator counts − the other's. ` +
      `"back after" = from ${s(untilMs)} until ingest's 5-s sliding rate ≥ 0.95 × quota; "last 10 s" = ingest's rate over the run's last 10 s.`,
  );
  const rows: Cell[][] = [];
  for (const shaping of selected('QUOTA_SHAPINGS', SHAPINGS)) {
    report.line(
      `  running ${shaping}: quota ${quota}/s, K ${concurrency}, other caller until ${s(untilMs)}…`,
    );
    let log: OtherLog | undefined;
    const run = await runIngestPipeline({
      quota,
      shaping,
      params: { ingestMaxConcurrency: String(concurrency) },
      backlog: { normal: caseMessages(messages, `qb-${shaping}`) },
      until: { afterMs: runMs },
      beside: async (ctx) => {
        log = await otherCaller(ctx, { fromMs, untilMs, seed: 7, label: shaping });
      },
    });
    progress(report, run);
    if (log === undefined) throw new Error('the other caller did not report');
    const f = sharingFigures(run, log, { quota, fromMs, untilMs, messages });
    const budget = budgetLabel(run, shaping);
    report.json('quota', {
      scenario: 'b',
      config: shaping,
      quota,
      concurrency,
      budget,
      windowFromSeconds: fromMs / 1000,
      windowToSeconds: untilMs / 1000,
      otherCalls: f.otherCalls,
      otherOkPerSecond: f.otherOkRate,
      leftPerSecond: f.leftRate,
      ingestPerSecond: f.ingestRate,
      ingestPerLeft: f.ingestPerLeft,
      ingestCalls: f.ingestCalls,
      ingestThrottledShare: f.ingestThrottledShare,
      otherThrottledShare: f.otherThrottledShare,
      ingestThrottledShareInWindow: f.ingestThrottledShareInWindow,
      otherThrottledShareInWindow: f.otherThrottledShareInWindow,
      recoverySeconds: Number.isFinite(f.recoverySeconds) ? f.recoverySeconds : null,
      ingestPerSecondLast10s: f.ingestRateLast,
      ingestTasks: f.ingestTasks,
      backlogLeft: f.backlogLeft,
      failedBatches: run.failedBatches,
    });
    rows.push([
      shaping,
      budget,
      f.otherCalls,
      f.otherOkRate,
      f.leftRate,
      f.ingestRate,
      f.ingestPerLeft,
      100 * f.ingestThrottledShare,
      100 * f.otherThrottledShare,
      100 * f.ingestThrottledShareInWindow,
      100 * f.otherThrottledShareInWindow,
      Number.isFinite(f.recoverySeconds) ? f.recoverySeconds : `> ${(runMs - untilMs) / 1000}`,
      f.ingestRateLast,
      f.ingestTasks,
      f.backlogLeft,
    ]);
    if (shaping === 'shared') {
      report.check({
        bench: 'quota',
        figure: '(b) ingest ÷ what the other leaves',
        value: f.ingestPerLeft,
        unit: '',
        target: { op: '>=', limit: 0.8 },
        note: `tasks/s in [${s(fromMs)}, ${s(untilMs)})`,
      });
      report.check({
        bench: 'quota',
        figure: '(b) ingest throttled share',
        value: f.ingestThrottledShare,
        unit: '',
        target: { op: '<=', limit: 0.05 },
      });
      report.check({
        bench: 'quota',
        figure: "(b) other caller's throttled share",
        value: f.otherThrottledShare,
        unit: '',
        target: { op: '<=', limit: 0.1 },
      });
      report.check({
        bench: 'quota',
        figure: '(b) back to ≥ 0.95 × quota after the other stops',
        value: f.recoverySeconds,
        unit: 's',
        target: { op: '<=', limit: 30 },
        note: '5-s sliding window of InitiationTimestamps',
      });
    }
  }
  report.table(
    `quota (b) at ${quota}/s, K ${concurrency}: another caller ~1/s until ${s(untilMs)}, window [${s(fromMs)}, ${s(untilMs)})`,
    [
      'config',
      'budget',
      'other calls',
      'other ok/s',
      'left/s',
      'ingest/s',
      'ingest÷left',
      'ingest thr %',
      'other thr %',
      'ingest thr % win',
      'other thr % win',
      'back after s',
      'last 10 s /s',
      'ingest tasks',
      'backlog left',
    ],
    rows,
  );
}

// ---- (c) urgent events beside a bulk backlog -----------------------------------------------------

interface LaneFigures {
  urgentSent: number;
  urgentServed: number;
  urgentP50: number;
  urgentP99: number;
  urgentMax: number;
  bulkRateDuring: number;
  bulkRate: number;
  bulkTasks: number;
  throttledShare: number;
  callsPerTask: number;
}

function laneFigures(
  run: PipelineRun,
  urgentSentAt: readonly number[],
  p: { fromMs: number; untilMs: number; runMs: number },
): LaneFigures {
  const byLane = (lane: 'urgent' | 'bulk') =>
    run.tasks.flatMap((c) => {
      const sent = run.sent.get(c.ContactId);
      const at = Date.parse(c.InitiationTimestamp);
      return sent?.lane === lane && at <= run.ended ? [{ at, sentAt: sent.sentAt }] : [];
    });
  const urgent = byLane('urgent');
  // An urgent event not served by the end counts as Infinity: p99 and max then say so.
  const latencies = [
    ...urgent.map((u) => (u.at - u.sentAt) / 1000),
    ...Array.from(
      { length: Math.max(0, urgentSentAt.length - urgent.length) },
      () => Number.POSITIVE_INFINITY,
    ),
  ];
  const bulk = byLane('bulk').map((b) => b.at);
  const from = run.started + p.fromMs;
  const until = run.started + p.untilMs;
  const calls = sumCounts(run.calls);
  const tasks = urgent.length + bulk.length;
  return {
    urgentSent: urgentSentAt.length,
    urgentServed: urgent.length,
    urgentP50: percentile(latencies, 50),
    urgentP99: percentile(latencies, 99),
    urgentMax: latencies.length > 0 ? Math.max(...latencies) : Number.NaN,
    bulkRateDuring: bulk.filter((t) => t >= from && t < until).length / ((until - from) / 1000),
    bulkRate: bulk.length / ((run.ended - run.started) / 1000),
    bulkTasks: bulk.length,
    throttledShare: share(run.calls.ThrottlingException ?? 0, calls),
    callsPerTask: tasks > 0 ? calls / tasks : Number.NaN,
  };
}

async function scenarioC(report: Reporter, quick: boolean): Promise<void> {
  const quota = 2;
  const bulkCount = quick ? 300 : 2000;
  const urgentCount = quick ? 5 : 20;
  const urgentFromMs = quick ? 5_000 : 20_000;
  const urgentEveryMs = 2_000;
  const urgentUntilMs = urgentFromMs + urgentCount * urgentEveryMs;
  const runMs = quick ? 25_000 : 90_000;
  const s = (ms: number) => `${ms / 1000} s`;
  report.line('');
  report.line('== quota (c): urgent events beside a bulk backlog ==');
  report.line(
    `quota ${quota}/s, default lane concurrencies (serverless.yml); ${bulkCount} bulk events queued on the bulk queue before the start; ` +
      `from ${s(urgentFromMs)}, ${urgentCount} urgent events on the urgent queue, one every ${s(urgentEveryMs)} ` +
      `(at ${quota}/s, ${urgentCount} events at once could not all be served within 5 s). The run stops at ${s(runMs)}: ` +
      'the bulk backlog is not drained (bulk progress is reported).',
  );
  report.line(
    `urgent latency = InitiationTimestamp − SentTimestamp (an urgent event not served by the end counts as ∞); ` +
      `"bulk/s during" = bulk tasks/s in [${s(urgentFromMs)}, ${s(urgentUntilMs)}); "bulk/s" = over the whole run.`,
  );
  const rows: Cell[][] = [];
  for (const shaping of selected('QUOTA_SHAPINGS', SHAPINGS)) {
    report.line(`  running ${shaping}: quota ${quota}/s, ${bulkCount} bulk, ${urgentCount} urgent…`);
    const urgentSentAt: number[] = [];
    const urgentMessages: BacklogMessage[] = caseMessages(urgentCount, `qc-urgent-${shaping}`);
    const run = await runIngestPipeline({
      quota,
      shaping,
      backlog: { bulk: caseMessages(bulkCount, `qc-bulk-${shaping}`) },
      until: { afterMs: runMs },
      beside: async (ctx) => {
        for (const [i, m] of urgentMessages.entries()) {
          await sleep(Math.max(0, ctx.started + urgentFromMs + i * urgentEveryMs - now()));
          urgentSentAt.push(now());
          await ctx.sandbox.clients.sqs.send(
            new SendMessageCommand({
              QueueUrl: ctx.queues.urgent,
              MessageBody: m.body,
              MessageAttributes: m.attributes,
            }),
          );
        }
      },
    });
    progress(report, run);
    const f = laneFigures(run, urgentSentAt, { fromMs: urgentFromMs, untilMs: urgentUntilMs, runMs });
    const budget = budgetLabel(run, shaping);
    const finite = (v: number) => (Number.isFinite(v) ? v : null);
    report.json('quota', {
      scenario: 'c',
      config: shaping,
      quota,
      budget,
      urgentSent: f.urgentSent,
      urgentServed: f.urgentServed,
      urgentP50Seconds: finite(f.urgentP50),
      urgentP99Seconds: finite(f.urgentP99),
      urgentMaxSeconds: finite(f.urgentMax),
      bulkPerSecondDuringUrgent: f.bulkRateDuring,
      bulkPerSecond: f.bulkRate,
      bulkTasks: f.bulkTasks,
      bulkQueued: bulkCount,
      throttledShare: f.throttledShare,
      callsPerTask: f.callsPerTask,
      failedBatches: run.failedBatches,
    });
    rows.push([
      shaping,
      budget,
      `${f.urgentServed}/${f.urgentSent}`,
      f.urgentP50,
      f.urgentP99,
      f.urgentMax,
      f.bulkRateDuring,
      f.bulkRate,
      `${f.bulkTasks}/${bulkCount}`,
      100 * f.throttledShare,
      f.callsPerTask,
    ]);
    if (shaping === 'shared') {
      report.check({
        bench: 'quota',
        figure: '(c) urgent send→task p99',
        value: f.urgentP99,
        unit: 's',
        target: { op: '<=', limit: 5 },
        note: `${f.urgentServed}/${f.urgentSent} served; max ${fmt(f.urgentMax)} s`,
      });
      report.check({
        bench: 'quota',
        figure: '(c) bulk tasks/s while urgents flow',
        value: f.bulkRateDuring,
        unit: '/s',
        target: { op: '>', limit: 0 },
      });
    }
  }
  report.table(
    `quota (c) at ${quota}/s: ${bulkCount} bulk queued, ${urgentCount} urgent one every ${s(urgentEveryMs)} from ${s(urgentFromMs)}, stop at ${s(runMs)}`,
    [
      'config',
      'budget',
      'urgent',
      'urgent p50 s',
      'urgent p99 s',
      'urgent max s',
      'bulk/s during',
      'bulk/s',
      'bulk tasks',
      'throttled %',
      'calls/task',
    ],
    rows,
  );
}

export async function quotaBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  report.line('');
  report.line('== quota: shared budget vs naive ==');
  report.line(
    'shared = one adaptive budget in the budget table, 2 SDK attempts, visibility backoff. ' +
      `naive = the budget at a ceiling of ${NAIVE_RATE}/s (paces nothing), 3 SDK attempts, no ChangeMessageVisibility, visibility timeout ${NAIVE_VISIBILITY_TIMEOUT_SECONDS} s. ` +
      '"budget" = what the instances used.',
  );
  const scenarios = selected('QUOTA_SCENARIOS', ['a', 'b', 'c']);
  if (scenarios.includes('a')) await scenarioA(report, options.quick);
  if (scenarios.includes('b')) await scenarioB(report, options.quick);
  if (scenarios.includes('c')) await scenarioC(report, options.quick);
}
