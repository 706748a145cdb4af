/**
 * Goodput at the quota: a backlog drained through the sandbox pipeline while the Connect emulator's
 * StartTaskContact token bucket enforces the quota, once with the service's real configuration and
 * once, with the same backlog, with a naive one.
 *
 * - shaped: START_TASK_RATE = quota and INGEST_MAX_CONCURRENCY = maximumConcurrency = K, passed as
 *   serverless.yml params (each instance shapes to quota/K), the service's Connect client
 *   (createConnectClient: 2 attempts), ChangeMessageVisibility backoff on transient failures.
 * - naive: no call shaping (rate Infinity), the SDK's default retries (3 attempts), and redelivery only
 *   by the queue's visibility timeout, set to 30 s for the run (the ingest's SQS client turns
 *   ChangeMessageVisibility into a no-op, so its queue port's changeVisibility does nothing).
 */
import { ConnectClient } from '@aws-sdk/client-connect';
import { SetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createConnectClient } from '#lib/aws/clients.ts';
import { now } from '#lib/clock.ts';
import { startSandbox } from '#sandbox/index.ts';
import { startPipeline } from '#sandbox/pipeline.ts';
import { type Cell, percentile, type Reporter } from './report.ts';
import {
  type BacklogMessage,
  caseMessages,
  ingestInstances,
  installCaseRule,
  sendBacklog,
} from './workload.ts';

export type GoodputConfig = 'shaped' | 'naive';

export interface GoodputScenario {
  /** The emulator's StartTaskContact rate = burst (requests/s), and the service's START_TASK_RATE. */
  quota: number;
  /** maximumConcurrency of the event source = INGEST_MAX_CONCURRENCY. */
  concurrency: number;
  config: GoodputConfig;
}

export interface GoodputResult extends GoodputScenario {
  messages: number;
  tasks: number;
  /** Messages that ended in the DLQ (never the case when everything is created). */
  dlq: number;
  /** False when the drain did not finish within its time limit. */
  drained: boolean;
  /** (tasks − 1) / (last − first InitiationTimestamp), tasks per second. */
  goodput: number;
  /** tasks / (last InitiationTimestamp − pipeline start), tasks per second. */
  goodputFromStart: number;
  drainSeconds: number;
  calls: number;
  throttled: number;
  /** StartTaskContact calls per task created. */
  callsPerTask: number;
  /** Send (SentTimestamp) to task (InitiationTimestamp), seconds. */
  latencyP50: number;
  latencyP99: number;
  /** Records the handler reported failed (transient), i.e. redeliveries caused. */
  recordRetries: number;
}

/** Naive run's visibility timeout (s): the only redelivery delay when the service does not back off. */
export const NAIVE_VISIBILITY_TIMEOUT_SECONDS = 30;

/** Turns ChangeMessageVisibility into a no-op on this client (the naive run's queue port). */
function withoutVisibilityBackoff(client: SQSClient): SQSClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ChangeMessageVisibilityCommand') {
        return { output: { $metadata: {} }, response: undefined } as Awaited<ReturnType<typeof next>>;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchNoVisibilityBackoff' },
  );
  return client;
}

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
  const { quota, concurrency, config } = scenario;
  const sandbox = await startSandbox({
    port: 0,
    params: { startTaskRate: String(quota), ingestMaxConcurrency: String(concurrency) },
  });
  const sentAt = new Map<string, number>();
  let recordRetries = 0;
  const instances = ingestInstances({
    connect: () => (config === 'shaped' ? createConnectClient() : new ConnectClient({ maxAttempts: 3 })),
    ...(config === 'naive'
      ? {
          config: (c) => ({ ...c, startTaskRate: Number.POSITIVE_INFINITY }),
          sqs: withoutVisibilityBackoff,
        }
      : {}),
    onOutcome(record, outcome) {
      if (outcome.status === 'created')
        sentAt.set(outcome.contactId, Number(record.attributes.SentTimestamp));
      if (outcome.status === 'retry') recordRetries += 1;
    },
  });
  try {
    sandbox.connect.configure({ rates: { StartTaskContact: { rate: quota, burst: quota } } });
    await installCaseRule(sandbox);
    const queueUrl = sandbox.environment.INGEST_QUEUE_URL as string;
    if (config === 'naive') {
      await sandbox.clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queueUrl,
          Attributes: { VisibilityTimeout: String(NAIVE_VISIBILITY_TIMEOUT_SECONDS) },
        }),
      );
    }
    Object.assign(process.env, sandbox.functionEnvironment('ingest'));
    await sendBacklog(sandbox.clients.sqs, queueUrl, backlog);

    const started = now();
    const pipeline = await startPipeline(sandbox, { schedules: false, handlers: { ingest: instances.make } });
    let drained = true;
    try {
      await pipeline.idle({ timeoutMs: timeLimitMs, intervalMs: 200 });
    } catch (error) {
      if (!(error instanceof Error && error.name === 'PollerIdleTimeoutError')) throw error;
      drained = false;
    } finally {
      await pipeline.stop();
    }

    const contacts = sandbox.connect.contacts({ channel: 'TASK' });
    const initiated = contacts.map((c) => Date.parse(c.InitiationTimestamp)).sort((a, b) => a - b);
    const first = initiated[0] ?? Number.NaN;
    const last = initiated[initiated.length - 1] ?? Number.NaN;
    const tasks = contacts.length;
    const drainSeconds = (last - first) / 1000;
    const latencies = contacts.flatMap((c) => {
      const sent = sentAt.get(c.ContactId);
      return sent === undefined ? [] : [(Date.parse(c.InitiationTimestamp) - sent) / 1000];
    });
    const counts = sandbox.connect.callCounts().StartTaskContact ?? {};
    const calls = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const throttled = counts.ThrottlingException ?? 0;
    const dlq = sandbox.sqs
      .stats()
      .filter((q) => q.name.endsWith('-dlq'))
      .reduce((sum, q) => sum + q.visible + q.notVisible + q.delayed, 0);
    return {
      ...scenario,
      messages: backlog.length,
      tasks,
      dlq,
      drained,
      goodput: tasks > 1 && drainSeconds > 0 ? (tasks - 1) / drainSeconds : Number.NaN,
      goodputFromStart: tasks > 0 ? tasks / ((last - started) / 1000) : Number.NaN,
      drainSeconds,
      calls,
      throttled,
      callsPerTask: tasks > 0 ? calls / tasks : Number.NaN,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
      recordRetries,
    };
  } finally {
    instances.destroy();
    await sandbox.stop();
  }
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
