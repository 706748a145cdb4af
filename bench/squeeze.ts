/**
 * The squeeze: ingest under a budget held at a tenth of the arrival rate, for 10 minutes.
 *
 * On the sandbox, Connect's StartTaskContact quota is 2 requests/s (the emulator's account-wide
 * bucket, rate = burst). Another caller (bench/quota.ts's, a plain client with one attempt) takes the
 * rest of it, 1.8 calls/s with random gaps, while ingest's ceiling (START_TASK_RATE) is 0.2 calls/s,
 * shared by K = 4 instances on the normal lane, with the function timeout and the batch size of
 * serverless.yml (60 s, 10). Case events arrive at 2/s all along. When the squeeze ends, the other
 * caller has left and ingest's instances come back with the quota as their ceiling (the configured
 * rate is read at cold start), and the backlog drains.
 *
 * Figures per run (one JSON line each; `SQUEEZE_RUNS=3` runs three in a row and adds the worst):
 * invocations that timed out; records sent back without an attempt (lib/ingest/receives.ts) and
 * their median wait from being sent back to their next receive; the invocations' longest duration;
 * the DLQ by class at the end (EXHAUSTED, and TRANSIENT waiting for a redrive round); tasks against
 * messages once the backlog drained; duplicated tasks; when the drain runs out of time, what each queue
 * still holds (`leftInQueues`). Figures, never assertions.
 */
import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createConnectClient } from '#lib/aws/connect.ts';
import type { RecordOutcome } from '#lib/ingest/process-record.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import { FAILURE_ATTRIBUTE } from '#lib/retry/failure-record.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { startPipeline } from '#sandbox/pipeline.ts';
import { queueDepth } from './chaos/queues.ts';
import { OTHER_ATTRIBUTE, type OtherLog, otherCaller } from './quota.ts';
import { type Cell, fmt, median, percentile, type Reporter } from './report.ts';
import {
  caseMessages,
  type IngestHandler,
  ingestInstances,
  installCaseRule,
  restoreEnvironment,
  sleep,
} from './workload.ts';

/** Errors of an invocation that ran out of time: the sandbox poller's, and middy's early timeout. */
const TIMEOUT_ERRORS = new Set(['HandlerTimeoutError', 'TimeoutError']);

export interface SqueezeSpec {
  /** How long the budget is held (ms). */
  squeezeMs: number;
  /** Connect's quota and the ceiling after the squeeze (requests/s). */
  quota: number;
  /** Ingest's ceiling during the squeeze (requests/s). */
  budget: number;
  /** Ingest instances on the normal lane (its maximumConcurrency). */
  instances: number;
  /** Events per second sent to the normal lane during the squeeze. */
  arrivalPerSecond: number;
  /** The drain after the squeeze ends gives up after this long (ms). */
  drainLimitMs: number;
}

export const SQUEEZE: Readonly<{ full: SqueezeSpec; quick: SqueezeSpec }> = Object.freeze({
  full: {
    squeezeMs: 600_000,
    quota: 2,
    budget: 0.2,
    instances: 4,
    arrivalPerSecond: 2,
    drainLimitMs: 1_800_000,
  },
  quick: {
    squeezeMs: 60_000,
    quota: 2,
    budget: 0.2,
    instances: 4,
    arrivalPerSecond: 2,
    drainLimitMs: 300_000,
  },
});

export interface SqueezeFigures {
  messages: number;
  invocations: number;
  /** Invocations that ran out of time (the function timeout, or middy's early one just before it). */
  timedOut: number;
  /** Other invocations that failed as a whole, by error name. */
  failedBatches: Record<string, number>;
  /** The longest invocation during the squeeze, s. */
  longestInvocationS: number;
  recordsReceived: number;
  /** Records sent back without an attempt (NotAttempted), and their wait until their next receive, s. */
  notAttempted: number;
  notAttemptedWaitP50S: number;
  notAttemptedWaitP90S: number;
  /** Every event's wait from its send to its first receive, p50 (s): the backlog ahead of it. */
  firstReceiveWaitP50S: number;
  /** Records retried in place (a counted transient failure). */
  retried: number;
  /** Ingest's tasks/s during the squeeze. */
  squeezeTasksPerSecond: number;
  ingestThrottled: number;
  otherCalls: number;
  otherThrottled: number;
  dlqByClass: Record<string, number>;
  exhausted: number;
  tasks: number;
  duplicated: number;
  drained: boolean;
  drainS: number;
  /** Not drained: the queues still holding messages when the drain limit ran out. */
  leftInQueues?: Record<string, { visible: number; hidden: number }>;
}

/** What the handler wrappers and outcome hooks saw, by event id, on the sandbox's clock `now`. */
function createObserver(now: () => number) {
  const returnedAt = new Map<string, number>();
  const waits: number[] = [];
  /** From an event's send to its first receive (s): the wait of the backlog every event sees. */
  const firstWaits: number[] = [];
  const counts = { received: 0, notAttempted: 0, retried: 0 };
  /** How long each handler ran (s), the part of a timed-out one past the timeout included. */
  const durations: number[] = [];
  const eventIdOf = (record: SQSRecord): string => {
    try {
      return String((JSON.parse(record.body) as { id?: unknown }).id);
    } catch {
      return record.messageId;
    }
  };
  return {
    waits,
    firstWaits,
    counts,
    durations,
    /** The instance's handler, noting each record's receive. */
    wrap(handler: IngestHandler): IngestHandler {
      return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
        const at = now();
        for (const record of event.Records) {
          counts.received += 1;
          if (
            record.attributes.ApproximateReceiveCount === '1' &&
            !(FAILURE_ATTRIBUTE in record.messageAttributes)
          ) {
            firstWaits.push((at - Number(record.attributes.SentTimestamp)) / 1000);
          }
          const id = eventIdOf(record);
          const back = returnedAt.get(id);
          if (back !== undefined) {
            waits.push((at - back) / 1000);
            returnedAt.delete(id);
          }
        }
        try {
          return await handler(event, context);
        } finally {
          durations.push((now() - at) / 1000);
        }
      };
    },
    outcome(record: SQSRecord, outcome: RecordOutcome | { status: 'retry'; error: unknown }): void {
      if (outcome.status === 'retry') counts.retried += 1;
      if (outcome.status === 'returned' && outcome.code === 'NotAttempted') {
        counts.notAttempted += 1;
        returnedAt.set(eventIdOf(record), now());
      }
    },
  };
}

/** Sends `perSecond` case events every second from `fromMs` until `untilMs` (epoch ms on `now`); returns how many. */
async function arrivals(
  sqs: SQSClient,
  queueUrl: string,
  {
    perSecond,
    fromMs,
    untilMs,
    label,
    now,
  }: { perSecond: number; fromMs: number; untilMs: number; label: string; now: () => number },
): Promise<number> {
  let sent = 0;
  for (let second = 0; fromMs + second * 1000 < untilMs; second += 1) {
    await sleep(Math.max(0, fromMs + second * 1000 - now()));
    const batch = caseMessages(perSecond, `${label}-${second}`);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({
          Id: String(i),
          MessageBody: m.body,
          MessageAttributes: m.attributes,
        })),
      }),
    );
    sent += batch.length;
  }
  return sent;
}

/** The DLQ's messages by failure class (read, then made visible again). */
async function dlqByClass(sandbox: Sandbox): Promise<Record<string, number>> {
  const queueUrl = sandbox.environment.DLQ_URL as string;
  const out: Record<string, number> = {};
  const handles: string[] = [];
  for (;;) {
    const got = await sandbox.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    if (!got.Messages?.length) break;
    for (const m of got.Messages) {
      handles.push(m.ReceiptHandle as string);
      const key = readDlqMessage(m).failure?.class ?? 'NO_RECORD';
      out[key] = (out[key] ?? 0) + 1;
    }
  }
  for (const handle of handles) {
    await sandbox.clients.sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
  }
  return out;
}

/** One squeeze run on a fresh sandbox: the squeeze, then the drain. */
export async function squeezeRun(
  spec: SqueezeSpec,
  label: string,
  report: Reporter,
): Promise<SqueezeFigures> {
  const sandbox = await startSandbox({
    port: 0,
    params: { startTaskRate: String(spec.budget), ingestMaxConcurrency: String(spec.instances) },
  });
  const savedEnv = { ...process.env };
  const ceiling = { now: spec.budget };
  const now = sandbox.clock.now;
  const observer = createObserver(now);
  const instances = ingestInstances({
    connect: () => createConnectClient(),
    // The ceiling in force when the instance starts (cold start reads START_TASK_RATE).
    config: (c) => ({ ...c, startTaskRate: ceiling.now, budget: { ...c.budget, ceiling: ceiling.now } }),
    onOutcome: observer.outcome,
    now,
  });
  const invocations = { all: 0, timedOut: 0, failed: {} as Record<string, number> };
  try {
    sandbox.connect.configure({ rates: { StartTaskContact: { rate: spec.quota, burst: spec.quota } } });
    await installCaseRule(sandbox);
    const env = sandbox.functionEnvironment('ingest');
    Object.assign(process.env, env);
    const queueUrl = env.INGEST_QUEUE_URL as string;
    const pipelineOf = () =>
      startPipeline(sandbox, {
        schedules: false,
        handlers: { ingest: () => observer.wrap(instances.make()) },
        onInvocation(name, info) {
          if (name !== 'ingest') return;
          invocations.all += 1;
          if (info.error === undefined) return;
          const errorName = String((info.error as { name?: unknown } | null)?.name ?? 'Error');
          // The poller's function timeout, or middy's, which ends the handler 5 ms before it.
          if (TIMEOUT_ERRORS.has(errorName)) invocations.timedOut += 1;
          else invocations.failed[errorName] = (invocations.failed[errorName] ?? 0) + 1;
        },
      });
    let pipeline = await pipelineOf();
    const started = now();
    const queues = {
      urgent: env.INGEST_URGENT_QUEUE_URL as string,
      normal: queueUrl,
      bulk: env.INGEST_BULK_QUEUE_URL as string,
    };
    const other = otherCaller(
      { sandbox, started, queues },
      { fromMs: 0, untilMs: spec.squeezeMs, seed: 11, label, meanGapMs: 1000 / (spec.quota - spec.budget) },
    );
    const messages = await arrivals(sandbox.clients.sqs, queueUrl, {
      perSecond: spec.arrivalPerSecond,
      fromMs: started,
      untilMs: started + spec.squeezeMs,
      label,
      now,
    });
    const otherLog = await other;
    const squeezeTasks = ingestTasks(sandbox).length;
    report.line(
      `    squeeze over after ${fmt((now() - started) / 1000, 0)} s: ${messages} sent, ${squeezeTasks} tasks; the ceiling goes back to ${spec.quota}/s`,
    );
    // The squeeze ends: new instances read the quota as their ceiling.
    ceiling.now = spec.quota;
    await pipeline.stop();
    const longestInvocationS = Math.max(0, ...observer.durations);
    pipeline = await pipelineOf();
    const drainFrom = now();
    let drained = true;
    try {
      await pipeline.idle({ timeoutMs: spec.drainLimitMs, intervalMs: 500 });
    } catch (error) {
      if (!(error instanceof Error && error.name === 'PollerIdleTimeoutError')) throw error;
      drained = false;
    }
    const drainS = (now() - drainFrom) / 1000;
    // Not idle within the limit: say what is left, queue by queue, before anything stops.
    const left = drained ? {} : { leftInQueues: await queuesLeft(sandbox) };
    await pipeline.stop();
    return {
      messages,
      ...invocationFigures(invocations),
      longestInvocationS,
      ...observerFigures(observer),
      ...(await endFigures(sandbox, otherLog)),
      squeezeTasksPerSecond: squeezeTasks / (spec.squeezeMs / 1000),
      drained,
      drainS,
      ...left,
    };
  } finally {
    restoreEnvironment(savedEnv);
    instances.destroy();
    await sandbox.stop();
  }
}

/** Every queue of the sandbox (the `*_QUEUE_URL` variables and the DLQ) that holds messages: visible, hidden. */
async function queuesLeft(sandbox: Sandbox): Promise<Record<string, { visible: number; hidden: number }>> {
  const urls = Object.entries(sandbox.environment).filter(
    ([name, url]) => (name.endsWith('_QUEUE_URL') || name === 'DLQ_URL') && typeof url === 'string',
  );
  const out: Record<string, { visible: number; hidden: number }> = {};
  for (const [name, url] of urls) {
    const depth = await queueDepth(sandbox.clients.sqs, url as string);
    if (depth.visible + depth.hidden > 0) out[name] = depth;
  }
  return out;
}

function invocationFigures(invocations: { all: number; timedOut: number; failed: Record<string, number> }) {
  return { invocations: invocations.all, timedOut: invocations.timedOut, failedBatches: invocations.failed };
}

function observerFigures(observer: ReturnType<typeof createObserver>) {
  return {
    recordsReceived: observer.counts.received,
    notAttempted: observer.counts.notAttempted,
    notAttemptedWaitP50S: median(observer.waits),
    notAttemptedWaitP90S: percentile(observer.waits, 90),
    firstReceiveWaitP50S: median(observer.firstWaits),
    retried: observer.counts.retried,
  };
}

/** Tasks, throttles and the DLQ once the backlog drained. */
async function endFigures(sandbox: Sandbox, otherLog: OtherLog) {
  const tasks = ingestTasks(sandbox);
  const names = new Set(tasks.map((t) => t.Name));
  const counts = sandbox.connect.callCounts().StartTaskContact ?? {};
  const otherThrottled = otherLog.calls.filter((c) => c.outcome === 'ThrottlingException').length;
  const byClass = await dlqByClass(sandbox);
  return {
    ingestThrottled: (counts.ThrottlingException ?? 0) - otherThrottled,
    otherCalls: otherLog.calls.length,
    otherThrottled,
    dlqByClass: byClass,
    exhausted: byClass.EXHAUSTED ?? 0,
    tasks: tasks.length,
    duplicated: tasks.length - names.size,
  };
}

/** The tasks ingest created (the other caller's carry its attribute). */
function ingestTasks(sandbox: Sandbox) {
  return sandbox.connect
    .contacts({ channel: 'TASK' })
    .filter((c) => c.Attributes?.[OTHER_ATTRIBUTE] === undefined);
}

const COLUMNS = [
  'run',
  'msgs',
  'invocations',
  'timed out',
  'longest s',
  'not attempted',
  'wait p50 s',
  'wait p90 s',
  'first receive p50 s',
  'retried',
  'squeeze tasks/s',
  'ingest thr',
  'other thr',
  'EXHAUSTED',
  'DLQ',
  'tasks',
  'dup',
  'drain s',
] as const;

function row(name: string, f: SqueezeFigures): Cell[] {
  const dlq = Object.entries(f.dlqByClass)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    name,
    f.messages,
    f.invocations,
    f.timedOut,
    f.longestInvocationS,
    f.notAttempted,
    f.notAttemptedWaitP50S,
    f.notAttemptedWaitP90S,
    f.firstReceiveWaitP50S,
    f.retried,
    f.squeezeTasksPerSecond,
    f.ingestThrottled,
    `${f.otherThrottled}/${f.otherCalls}`,
    f.exhausted,
    dlq === '' ? '0' : dlq,
    f.drained ? `${f.tasks}/${f.messages}` : `${f.tasks}/${f.messages} (not drained)`,
    f.duplicated,
    f.drainS,
  ];
}

/** The worst of several runs, figure by figure. */
function worstOf(runs: readonly SqueezeFigures[]): SqueezeFigures {
  const max = (pick: (f: SqueezeFigures) => number) => Math.max(...runs.map(pick));
  const min = (pick: (f: SqueezeFigures) => number) => Math.min(...runs.map(pick));
  const first = runs[0] as SqueezeFigures;
  const missing = max((f) => f.messages - f.tasks);
  return {
    ...first,
    messages: max((f) => f.messages),
    invocations: max((f) => f.invocations),
    timedOut: max((f) => f.timedOut),
    longestInvocationS: max((f) => f.longestInvocationS),
    recordsReceived: max((f) => f.recordsReceived),
    notAttempted: max((f) => f.notAttempted),
    notAttemptedWaitP50S: max((f) => f.notAttemptedWaitP50S),
    notAttemptedWaitP90S: max((f) => f.notAttemptedWaitP90S),
    firstReceiveWaitP50S: max((f) => f.firstReceiveWaitP50S),
    retried: max((f) => f.retried),
    squeezeTasksPerSecond: min((f) => f.squeezeTasksPerSecond),
    ingestThrottled: max((f) => f.ingestThrottled),
    otherThrottled: max((f) => f.otherThrottled),
    exhausted: max((f) => f.exhausted),
    tasks: max((f) => f.messages) - missing,
    duplicated: max((f) => f.duplicated),
    drained: runs.every((f) => f.drained),
    drainS: max((f) => f.drainS),
  };
}

export async function squeezeBench(report: Reporter, options: { quick: boolean }): Promise<void> {
  const spec = options.quick ? SQUEEZE.quick : SQUEEZE.full;
  const runs = Math.max(1, Number(process.env.SQUEEZE_RUNS ?? '1') || 1);
  report.line('');
  report.line('== squeeze: ingest under a budget at a tenth of the arrival rate ==');
  report.line(
    `Connect quota ${spec.quota}/s (emulator bucket, rate = burst); another caller takes ${fmt(spec.quota - spec.budget)}/s of it for ` +
      `${spec.squeezeMs / 1000} s while ingest's ceiling is ${spec.budget}/s for K = ${spec.instances} instances (normal lane, ` +
      `serverless.yml's batch size and timeout); ${spec.arrivalPerSecond} events/s arrive. Then the other caller is gone, ` +
      `ingest's ceiling is ${spec.quota}/s again (new instances) and the backlog drains. "timed out" = invocations ended by the ` +
      'function timeout; "not attempted" = records sent back as a copy without an attempt (delayed 1-5 s), "wait" = from then to ' +
      'their next receive (a copy joins the end of the backlog: the emulator serves oldest first); "first receive" = any event, send to first receive; ' +
      '"longest" = the longest invocation during the squeeze; "retried" = records retried in place (counted); "EXHAUSTED" and ' +
      '"DLQ" = at the end, by class; "tasks" = ingest tasks / messages once drained; "dup" = tasks beyond one per event.',
  );
  const results: SqueezeFigures[] = [];
  for (let i = 0; i < runs; i += 1) {
    report.line(`  run ${i + 1} of ${runs}: ${spec.squeezeMs / 1000} s of squeeze…`);
    const f = await squeezeRun(spec, `sq${i}`, report);
    results.push(f);
    report.json('squeeze', { run: i + 1, quick: options.quick, ...f });
  }
  const worst = worstOf(results);
  if (runs > 1) report.json('squeeze', { run: 'worst', quick: options.quick, ...worst });
  const rows = results.map((f, i) => row(String(i + 1), f));
  if (runs > 1) rows.push(row('worst', worst));
  report.table(
    `squeeze: ${spec.budget}/s for ${spec.arrivalPerSecond} events/s, ${spec.squeezeMs / 1000} s`,
    COLUMNS,
    rows,
  );
  const note = runs > 1 ? `worst of ${runs}` : 'one run';
  const zeroTargets: Array<[string, number]> = [
    ['invocations timed out', worst.timedOut],
    ['EXHAUSTED at the end', worst.exhausted],
    ['messages without a task once drained', worst.messages - worst.tasks],
    ['duplicated tasks', worst.duplicated],
  ];
  for (const [figure, value] of zeroTargets) {
    report.check({ bench: 'squeeze', figure, value, unit: '', target: { op: '<=', limit: 0 }, note });
  }
}
