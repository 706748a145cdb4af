/**
 * The benchmarks' workload: CRM case events (events/messages/cloudevents.json, one distinct case per
 * message so each one is a distinct task) under the crm-case rule (events/rules/crm-case.json), a
 * backlog sent to the lane queues with bounded parallelism, the per-instance ingest handler the
 * sandbox pipeline runs, and one run of that pipeline against the Connect emulator's quota
 * (`runIngestPipeline`, shared by the goodput and quota benches).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConnectClient } from '@aws-sdk/client-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConnectClient } from '#lib/aws/connect.ts';
import type { BudgetConfig } from '#lib/budget/config.ts';
import { now } from '#lib/clock.ts';
import { ingestConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';
import { LANES, type Lane, type LaneQueueUrls, laneOfQueue } from '#lib/lanes.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import type { ContactView } from '#sandbox/connect/emulator.ts';
import { type Sandbox, startSandbox } from '#sandbox/index.ts';
import { startPipeline } from '#sandbox/pipeline.ts';

export const ROOT = resolve(import.meta.dirname, '..');

export class BenchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BenchError';
  }
}

interface SampleMessage {
  body: { data: Record<string, unknown> } & Record<string, unknown>;
  messageAttributes: Record<string, MessageAttributeValue>;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(resolve(ROOT, path), 'utf8')) as T;
}

export const RULE_FILE = 'events/rules/crm-case.json';
const MESSAGE_FILE = 'events/messages/cloudevents.json';

export interface BacklogMessage {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

/**
 * Builds `count` distinct CRM case events.
 * Input: the count and a run label (keeps case ids, hence ClientTokens, distinct across runs).
 * Output: SQS message bodies and attributes in the sample's shape, case ids `<run>-<i>`.
 */
export function caseMessages(count: number, run: string): BacklogMessage[] {
  const sample = readJson<SampleMessage>(MESSAGE_FILE);
  return Array.from({ length: count }, (_, i) => {
    const caseId = `${run}-${i}`;
    const body = {
      ...sample.body,
      id: `case-${caseId}-opened`,
      data: { ...sample.body.data, caseId, link: `https://crm.example.com/cases/${caseId}` },
    };
    return { body: JSON.stringify(body), attributes: sample.messageAttributes };
  });
}

/** Writes the crm-case rule into the sandbox's rules table (validated by the store, as the CLI does). */
export async function installCaseRule(sandbox: Sandbox): Promise<void> {
  const store = new DynamoRuleStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.RULES_TABLE as string,
  });
  await store.put(readJson(RULE_FILE));
}

/**
 * Sends a backlog with SendMessageBatch (10 per call), `parallel` calls at a time.
 * Output: the elapsed real milliseconds. Throws BenchError when SQS refuses an entry.
 */
export async function sendBacklog(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly BacklogMessage[],
  parallel = 8,
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const sender = async () => {
    for (;;) {
      const start = next;
      next += 10;
      if (start >= messages.length) return;
      const chunk = messages.slice(start, start + 10);
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, j) => ({
            Id: String(j),
            MessageBody: m.body,
            MessageAttributes: m.attributes,
          })),
        }),
      );
      if (out.Failed?.length) {
        throw new BenchError(`SendMessageBatch refused ${out.Failed.length} entries: ${out.Failed[0]?.Code}`);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, sender));
  return performance.now() - started;
}

export type IngestHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface IngestInstanceOptions {
  /** The Connect client this instance uses (the service's: createConnectClient()). */
  connect: () => ConnectClient;
  /** Adjusts the configuration read from the environment (e.g. the naive run's unshaped rate). */
  config?: (config: IngestRuntime['config']) => IngestRuntime['config'];
  /** Adjusts the SQS client (e.g. the naive run's no-op ChangeMessageVisibility). */
  sqs?: (client: SQSClient) => SQSClient;
  onOutcome?: IngestRuntime['onOutcome'];
}

/**
 * A factory of ingest function instances, as functions/ingest.ts builds one per cold start: the
 * configuration read from the environment at creation, clients of its own, the service's handler.
 * Output: `make` for the pipeline's `handlers.ingest`, and `destroy` for every client it made.
 */
export function ingestInstances(options: IngestInstanceOptions): {
  make: () => IngestHandler;
  destroy: () => void;
} {
  const clients: Array<{ destroy(): void }> = [];
  return {
    make() {
      const urgent = process.env.INGEST_URGENT_QUEUE_URL;
      const bulk = process.env.INGEST_BULK_QUEUE_URL;
      const normal = process.env.INGEST_QUEUE_URL ?? '';
      if (normal === '') throw new BenchError('INGEST_QUEUE_URL is not set');
      const base: IngestRuntime['config'] = {
        ...ingestConfigFromEnv(),
        ingestQueueUrl: normal,
        // As functions/ingest.ts: a record's visibility is changed on its own lane's queue.
        ...(urgent && bulk ? { laneQueueUrls: { urgent, normal, bulk } } : {}),
      };
      const connect = options.connect();
      const sqsBase = new SQSClient({});
      const sqs = options.sqs ? options.sqs(sqsBase) : sqsBase;
      const dynamodb = new DynamoDBClient({});
      clients.push(connect, sqs, dynamodb);
      const runtime: IngestRuntime = {
        config: options.config ? options.config(base) : base,
        clients: { connect, sqs, dynamodb },
        ...(options.onOutcome ? { onOutcome: options.onOutcome } : {}),
      };
      return createIngestHandler(runtime) as unknown as IngestHandler;
    },
    destroy() {
      for (const client of clients) client.destroy();
    },
  };
}

/** Waits `ms` real milliseconds. */
export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

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
 * How the ingest instances spend the StartTaskContact quota:
 * - shared: the service, one adaptive budget for all instances, its Connect client
 *   (createConnectClient: 2 attempts) and its visibility backoff;
 * - naive: no shaping (the budget at a ceiling of NAIVE_RATE, which paces nothing at the quotas the
 *   bench runs), the SDK's default 3 attempts, no ChangeMessageVisibility backoff (redelivery only by
 *   the queues' visibility timeout, set to NAIVE_VISIBILITY_TIMEOUT_SECONDS for the run).
 */
export type Shaping = 'shared' | 'naive';

/** The naive run's budget ceiling (requests/s): the budget needs a finite one. */
export const NAIVE_RATE = 1e6;

export interface RunContext {
  sandbox: Sandbox;
  /** Epoch ms (the emulator's clock) when the pipeline was started. */
  started: number;
  queues: LaneQueueUrls;
}

export interface PipelineRunSpec {
  /** The emulator's StartTaskContact rate = burst (requests/s), and START_TASK_RATE (the ceiling). */
  quota: number;
  shaping: Shaping;
  /** serverless.yml params besides startTaskRate (e.g. ingestMaxConcurrency). */
  params?: Record<string, string>;
  /** Queued on each lane's queue before the pipeline starts. */
  backlog: Partial<Record<Lane, readonly BacklogMessage[]>>;
  /**
   * When the run ends: `idle` when every queue is drained (or after timeLimitMs: cut off), `afterMs`
   * that long after the pipeline started, whatever is left.
   */
  until: { idle: true; timeLimitMs: number } | { afterMs: number };
  /** Runs beside the pipeline from its start (an outside caller, late events); awaited before the end. */
  beside?: (run: RunContext) => Promise<void>;
}

export interface PipelineRun {
  started: number;
  /** Epoch ms when the run ended (the drain's end, the time limit, or started + afterMs). */
  ended: number;
  /** False when `until: idle` hit its time limit. */
  drained: boolean;
  /** Every TASK contact the emulator holds at the end (the outside caller's too). */
  tasks: ContactView[];
  /** The created tasks of the ingest: SentTimestamp and lane of the message, by ContactId. */
  sent: Map<string, { sentAt: number; lane: Lane }>;
  /** StartTaskContact outcomes at the end (emulator counts, every caller). */
  calls: Record<string, number>;
  /** Messages in the DLQ at the end. */
  dlq: number;
  /** Records the handler reported failed (transient), i.e. redeliveries caused. */
  recordRetries: number;
  /**
   * Ingest invocations that failed as a whole, by error name (HandlerTimeoutError: the function
   * timeout): nothing deleted, every record comes back after the queue's visibility timeout, even
   * those whose task was created.
   */
  failedBatches: Record<string, number>;
  /** The budget configuration the first instance read (table, ceiling, instances). */
  budget: BudgetConfig | undefined;
  /** Real seconds the pipeline took to stop after the end (in-flight invocations finishing). */
  stopSeconds: number;
}

/** The sum of a map of counts (an operation's outcomes, failed batches by error). */
export function sumCounts(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/**
 * One run of the ingest pipeline on a fresh sandbox whose Connect emulator enforces the quota.
 * Input: the spec (quota, shaping, params, backlog per lane, end condition, side activity).
 * Output: the raw figures (contacts, send times, call counts); the callers compute their ratios.
 */
export async function runIngestPipeline(spec: PipelineRunSpec): Promise<PipelineRun> {
  const { quota, shaping } = spec;
  const sandbox = await startSandbox({
    port: 0,
    params: { ...spec.params, startTaskRate: String(quota) },
  });
  const sent = new Map<string, { sentAt: number; lane: Lane }>();
  let recordRetries = 0;
  const failedBatches: Record<string, number> = {};
  let budget: BudgetConfig | undefined;
  const instances = ingestInstances({
    connect: () => (shaping === 'naive' ? new ConnectClient({ maxAttempts: 3 }) : createConnectClient()),
    config(c) {
      const out =
        shaping === 'naive'
          ? { ...c, startTaskRate: NAIVE_RATE, budget: { ...c.budget, ceiling: NAIVE_RATE } }
          : c;
      budget ??= out.budget;
      return out;
    },
    ...(shaping === 'naive' ? { sqs: withoutVisibilityBackoff } : {}),
    onOutcome(record, outcome) {
      if (outcome.status === 'created') {
        sent.set(outcome.contactId, {
          sentAt: Number(record.attributes.SentTimestamp),
          lane: laneOfQueue(record.eventSourceARN),
        });
      }
      if (outcome.status === 'retry') recordRetries += 1;
    },
  });
  // The run sets the function's environment (and startPipeline the provider's); the next run must
  // not inherit a variable its serverless.yml no longer sets.
  const savedEnv = { ...process.env };
  try {
    sandbox.connect.configure({ rates: { StartTaskContact: { rate: quota, burst: quota } } });
    await installCaseRule(sandbox);
    const env = sandbox.functionEnvironment('ingest');
    const queues: LaneQueueUrls = {
      urgent: env.INGEST_URGENT_QUEUE_URL ?? '',
      normal: env.INGEST_QUEUE_URL ?? '',
      bulk: env.INGEST_BULK_QUEUE_URL ?? '',
    };
    for (const lane of LANES) {
      if (queues[lane] === '') throw new BenchError(`the ingest environment has no queue for lane ${lane}`);
      if (shaping === 'naive') {
        await sandbox.clients.sqs.send(
          new SetQueueAttributesCommand({
            QueueUrl: queues[lane],
            Attributes: { VisibilityTimeout: String(NAIVE_VISIBILITY_TIMEOUT_SECONDS) },
          }),
        );
      }
    }
    Object.assign(process.env, env);
    for (const lane of LANES) {
      const messages = spec.backlog[lane];
      if (messages?.length) await sendBacklog(sandbox.clients.sqs, queues[lane], messages);
    }

    const started = now();
    const pipeline = await startPipeline(sandbox, {
      schedules: false,
      handlers: { ingest: instances.make },
      onInvocation(name, info) {
        if (name !== 'ingest' || info.error === undefined) return;
        const errorName = String((info.error as { name?: unknown } | null)?.name ?? 'Error');
        failedBatches[errorName] = (failedBatches[errorName] ?? 0) + 1;
      },
    });
    // Awaited only at the end: its failure is kept until then (never an unhandled rejection).
    let besideError: { error: unknown } | undefined;
    const beside = spec.beside?.({ sandbox, started, queues }).catch((error: unknown) => {
      besideError = { error };
    });
    let drained = true;
    let ended: number;
    let tasks: ContactView[];
    let calls: Record<string, number>;
    let stopSeconds = 0;
    try {
      if ('idle' in spec.until) {
        try {
          await pipeline.idle({ timeoutMs: spec.until.timeLimitMs, intervalMs: 200 });
        } catch (error) {
          if (!(error instanceof Error && error.name === 'PollerIdleTimeoutError')) throw error;
          drained = false;
        }
        await beside;
      } else {
        await sleep(Math.max(0, started + spec.until.afterMs - now()));
        await beside;
      }
      if (besideError) throw besideError.error;
      // The figures as of the end, before stopping (in-flight invocations finish while it stops).
      ended = now();
      tasks = sandbox.connect.contacts({ channel: 'TASK' });
      calls = { ...(sandbox.connect.callCounts().StartTaskContact ?? {}) };
    } finally {
      const stopping = performance.now();
      await pipeline.stop();
      stopSeconds = (performance.now() - stopping) / 1000;
    }
    const dlq = sandbox.sqs
      .stats()
      .filter((q) => q.name.endsWith('-dlq'))
      .reduce((sum, q) => sum + q.visible + q.notVisible + q.delayed, 0);
    return {
      started,
      ended,
      drained,
      tasks,
      sent,
      calls,
      dlq,
      recordRetries,
      failedBatches,
      budget,
      stopSeconds,
    };
  } finally {
    restoreEnvironment(savedEnv);
    instances.destroy();
    await sandbox.stop();
  }
}

/**
 * Puts `process.env` back as `saved` had it: a run sets the function's environment (and the pipeline
 * the provider's), and the next run must not inherit a variable its serverless.yml no longer sets.
 */
export function restoreEnvironment(saved: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
}
