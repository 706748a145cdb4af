/**
 * Goodput at the quota: a backlog drained through the sandbox pipeline while the Connect emulator's
 * StartTaskContact token bucket enforces the quota, once with the service's real configuration and
 * once, with the same backlog, with a naive one.
 *
 * - shaped: the service's configuration: START_TASK_RATE = quota and INGEST_MAX_CONCURRENCY =
 *   maximumConcurrency = K, passed as serverless.yml params, the default (shared) StartTaskContact
 *   budget, the service's Connect client (createConnectClient: 2 attempts), ChangeMessageVisibility
 *   backoff on transient failures (the `shared` configuration of bench/quota.ts).
 * - naive: no call shaping, the SDK's default retries (3 attempts), and redelivery only by the queue's
 *   visibility timeout, set to 30 s for the run (the ingest's SQS client turns ChangeMessageVisibility
 *   into a no-op, so its queue port's changeVisibility does nothing).
 *
 * The run loop and the figures are bench/workload.ts's runIngestPipeline and bench/quota.ts's
 * drainFigures; `npm run bench -- quota` (scenario a) adds K = 8.
 */
import { type DrainFigures, drainFigures } from './quota.ts';
import type { Cell, Reporter } from './report.ts';
import {
  type BacklogMessage,
  caseMessages,
  NAIVE_VISIBILITY_TIMEOUT_SECONDS,
  runIngestPipeline,
} from './workload.ts';

export { NAIVE_VISIBILITY_TIMEOUT_SECONDS };

export type GoodputConfig = 'shaped' | 'naive';

export interface GoodputScenario {
  /** The emulator's StartTaskContact rate = burst (requests/s), and the service's START_TASK_RATE. */
  quota: number;
  /** maximumConcurrency of the event source = INGEST_MAX_CONCURRENCY. */
  concurrency: number;
  config: GoodputConfig;
}

export interface GoodputResult extends GoodputScenario, DrainFigures {}

/**
 * Drains one backlog through a fresh sandbox.
 * Input: the scenario, the backlog, a time limit for the drain.
 * Output: the figures of the run (from the emulator's contacts and call counts).
 */
export async function runGoodput(
  scenario: GoodputScenario,
  backlog: readonly BacklogMessage[],
  timeLimitMs: number,
): Promise<GoodputResult> {
  const run = await runIngestPipeline({
    quota: scenario.quota,
    shaping: scenario.config === 'shaped' ? 'shared' : 'naive',
    params: { ingestMaxConcurrency: String(scenario.concurrency) },
    backlog: { normal: backlog },
    until: { idle: true, timeLimitMs },
  });
  return { ...scenario, ...drainFigures(run, backlog.length) };
}

const COLUMNS = [
  'config',
  'quota/s',
  'K',
  'msgs',
  'tasks',
  'dlq',
  'drain s',
  'goodput/s',
  'goodput÷quota',
  'from start÷quota',
  'calls',
  'throttled %',
  'calls/task',
  'p50 s',
  'p99 s',
  'retries',
] as const;

function row(r: GoodputResult): Cell[] {
  return [
    r.drained ? r.config : `${r.config} (cut off)`,
    r.quota,
    r.concurrency,
    r.messages,
    r.tasks,
    r.dlq,
    r.drainSeconds,
    r.goodput,
    r.goodput / r.quota,
    r.goodputFromStart / r.quota,
    r.calls,
    (100 * r.throttled) / Math.max(1, r.calls),
    r.callsPerTask,
    r.latencyP50,
    r.latencyP99,
    r.recordRetries,
  ];
}

function ratioRow(naive: GoodputResult, shaped: GoodputResult): Cell[] {
  const share = (r: GoodputResult) => r.throttled / Math.max(1, r.calls);
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? 1 : Number.POSITIVE_INFINITY) : a / b);
  return [
    'naive ÷ shaped',
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    ratio(naive.drainSeconds, shaped.drainSeconds),
    ratio(naive.goodput, shaped.goodput),
    undefined,
    ratio(naive.goodputFromStart, shaped.goodputFromStart),
    ratio(naive.calls, shaped.calls),
    ratio(share(naive), share(shaped)),
    ratio(naive.callsPerTask, shaped.callsPerTask),
    ratio(naive.latencyP50, shaped.latencyP50),
    ratio(naive.latencyP99, shaped.latencyP99),
    undefined,
  ];
}

/** Seconds of drain each run is sized for at the quota. */
const DRAIN_SECONDS = { full: 40, quick: 8 };

export async function goodputBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const matrix: Array<[quota: number, concurrency: number]> = options.quick
    ? [
        [2, 2],
        [20, 4],
      ]
    : [
        [2, 2],
        [2, 4],
        [20, 2],
        [20, 4],
      ];
  const seconds = options.quick ? DRAIN_SECONDS.quick : DRAIN_SECONDS.full;
  report.line('');
  report.line('== goodput at the quota ==');
  report.line(
    'goodput = (tasks − 1) / (last − first task InitiationTimestamp); "from start" = tasks / (last task − pipeline start).',
  );
  report.line(
    'throttled % = ThrottlingException ÷ all StartTaskContact calls (emulator counts); calls/task = calls ÷ tasks; ' +
      'latency = InitiationTimestamp − SentTimestamp; retries = records reported failed (redelivered).',
  );
  report.line(
    `shaped = START_TASK_RATE quota, INGEST_MAX_CONCURRENCY = maximumConcurrency = K, 2 SDK attempts, visibility backoff; ` +
      `naive = unshaped, 3 SDK attempts, no ChangeMessageVisibility, queue VisibilityTimeout ${NAIVE_VISIBILITY_TIMEOUT_SECONDS} s.`,
  );

  for (const [quota, concurrency] of matrix) {
    const count = quota * seconds;
    const backlog = caseMessages(count, `gp-${quota}-${concurrency}`);
    const results: GoodputResult[] = [];
    for (const config of ['shaped', 'naive'] as const) {
      const limitMs = config === 'shaped' ? Math.max(120_000, 4 * seconds * 1000) : 600_000;
      report.line(`  running ${config}: quota ${quota}/s, K ${concurrency}, ${count} messages…`);
      const result = await runGoodput({ quota, concurrency, config }, backlog, limitMs);
      results.push(result);
      report.json('goodput', {
        config,
        quota,
        concurrency,
        messages: result.messages,
        tasks: result.tasks,
        dlq: result.dlq,
        drained: result.drained,
        drainSeconds: result.drainSeconds,
        goodput: result.goodput,
        goodputPerQuota: result.goodput / quota,
        goodputFromStartPerQuota: result.goodputFromStart / quota,
        calls: result.calls,
        throttled: result.throttled,
        throttledShare: result.throttled / Math.max(1, result.calls),
        callsPerTask: result.callsPerTask,
        latencyP50Seconds: result.latencyP50,
        latencyP99Seconds: result.latencyP99,
        recordRetries: result.recordRetries,
      });
    }
    const [shaped, naive] = results as [GoodputResult, GoodputResult];
    report.table(`goodput at ${quota}/s, K = ${concurrency}`, COLUMNS, [
      row(shaped),
      row(naive),
      ratioRow(naive, shaped),
    ]);
    const at = `${quota}/s K${concurrency}`;
    report.check({
      bench: 'goodput',
      figure: `goodput ÷ quota (${at})`,
      value: shaped.tasks === shaped.messages ? shaped.goodput / quota : 0,
      unit: '',
      target: { op: '>=', limit: 0.95 },
      note: shaped.tasks === shaped.messages ? 'first to last task' : 'not every message became a task',
    });
    report.check({
      bench: 'goodput',
      figure: `throttled share (${at})`,
      value: shaped.throttled / Math.max(1, shaped.calls),
      unit: '',
      target: { op: '<=', limit: 0.02 },
    });
    report.check({
      bench: 'goodput',
      figure: `calls per task (${at})`,
      value: shaped.callsPerTask,
      unit: '',
      target: { op: '<=', limit: 1.05 },
    });
  }
}
