/**
 * The integration-test harness: a sandbox on a free port with the pipeline running on it, the ingest
 * handler built by the same factory as functions/ingest.ts (so tests can observe outcomes and wrap
 * it with faults), and small helpers to send messages and read what became of them.
 *
 *   const h = await startHarness();
 *   await h.putRules([...]); await h.send(body, { source: 'x', id: '1' }); await h.idle();
 *   expect(h.tasks()).toHaveLength(1);
 *   await h.stop();
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConnectClient } from '@aws-sdk/client-connect';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ingestConfigFromEnv, laneQueueUrlsFromEnv } from '#lib/config.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';
import type { RecordOutcome } from '#lib/ingest/process-record.ts';
import type { Lane, LaneQueueUrls } from '#lib/lanes.ts';
import { silentLogger } from '#lib/observability/logger.ts';
import { type ReadDlqMessage, readDlqMessage } from '#lib/retry/dlq-message.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#sandbox/index.ts';
import { type Pipeline, type PipelineOptions, startPipeline } from '#sandbox/pipeline.ts';

export { FLOW_ID, INSTANCE_ID } from '#common/world.ts';

const root = resolve(import.meta.dirname, '../..');

export type IngestHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface HarnessOptions {
  /** Environment overrides applied before the ingest configuration is read (e.g. START_TASK_RATE). */
  env?: Record<string, string>;
  /** Wraps the ingest handler (fault injection). */
  wrapIngest?: (handler: IngestHandler) => IngestHandler;
  /** Replace the clients the ingest handler uses (e.g. an SQS client whose SendMessage to the DLQ fails). */
  ingestClients?: Partial<IngestRuntime['clients']>;
  pipeline?: PipelineOptions;
  /** Sees each record's outcome. */
  onOutcome?: IngestRuntime['onOutcome'];
  /** Start the pollers (default true). */
  startPipeline?: boolean;
}

/** What became of one delivery of a record: its outcome, or `retry` when SQS must deliver it again. */
export type SeenOutcome = RecordOutcome | { status: 'retry'; error: unknown };

interface SeenRecord {
  record: SQSRecord;
  outcome: SeenOutcome;
}

/** How long `until` waits before it gives up: a guard against a hang, not a timing assertion. */
const UNTIL_GIVE_UP_MS = 20_000;

export interface DlqEntry extends ReadDlqMessage {
  messageId: string;
  receiveCount: number;
}

export interface Harness {
  sandbox: Sandbox;
  pipeline?: Pipeline;
  endpoint: string;
  ingestQueueUrl: string;
  /** One queue per priority lane; `normal` is `ingestQueueUrl`. */
  laneQueueUrls: LaneQueueUrls;
  dlqUrl: string;
  clients: { sqs: SQSClient; dynamodb: DynamoDBClient; connect: ConnectClient };
  putRules(rules: unknown[]): Promise<void>;
  /** Reads a rule file from events/rules. */
  sampleRule(name: string): Record<string, unknown>;
  /** Sends to the ingest queue (the normal lane), or to `lane`'s queue. */
  send(body: string, attributes?: Record<string, string>, lane?: Lane): Promise<string>;
  sendBatch(messages: Array<{ body: string; attributes?: Record<string, string> }>): Promise<void>;
  idle(options?: Parameters<Pipeline['idle']>[0]): Promise<void>;
  tasks(): ReturnType<Sandbox['connect']['contacts']>;
  /** Every DLQ message, read without consuming it (visibility reset afterwards). */
  dlq(): Promise<DlqEntry[]>;
  connectConfig(patch: unknown): Promise<void>;
  advanceClock(seconds: number): Promise<void>;
  /** Every record outcome the ingest handler reported, in order. */
  readonly outcomes: readonly SeenRecord[];
  /** The statuses of every delivery of the message with this body, in order. */
  statuses(body: string): string[];
  /**
   * Resolves once `condition` holds: checked now, after every record outcome and on every `notify()`.
   * Rejects after 20 s, naming `what` (a guard against a hang, not a timing assertion).
   */
  until(condition: () => boolean, what: string): Promise<void>;
  /** Tells `until` to check again (a test's own event: a simulated crash, a probe on a client). */
  notify(): void;
  stop(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startSandbox({ port: 0 });
  Object.assign(process.env, sandbox.environment, options.env ?? {});
  const clientConfig = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: SANDBOX_CREDENTIALS,
  };
  const connect = new ConnectClient({ ...clientConfig, maxAttempts: 2 });
  const sqs = new SQSClient(clientConfig);
  const ingestQueueUrl = sandbox.environment.INGEST_QUEUE_URL as string;
  const dlqUrl = sandbox.environment.DLQ_URL as string;
  const laneQueueUrls = laneQueueUrlsFromEnv();

  const outcomes: SeenRecord[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const check of [...waiters]) check();
  };
  const runtime: IngestRuntime = {
    config: { ...ingestConfigFromEnv(), ingestQueueUrl, laneQueueUrls },
    clients: { connect, sqs, dynamodb: sandbox.clients.dynamodb, ...options.ingestClients },
    log: silentLogger,
    onOutcome: (record, outcome) => {
      outcomes.push({ record, outcome });
      options.onOutcome?.(record, outcome);
      notify();
    },
  };
  const makeIngest = (): IngestHandler => {
    const built = createIngestHandler(runtime) as unknown as IngestHandler;
    return options.wrapIngest ? options.wrapIngest(built) : built;
  };

  const pipeline =
    options.startPipeline === false
      ? undefined
      : await startPipeline(sandbox, {
          schedules: false,
          ...options.pipeline,
          handlers: { ingest: makeIngest, ...options.pipeline?.handlers },
        });

  // startPipeline applies the sandbox environment; function instances import lazily (first
  // invocation), so the test's overrides must win again now.
  Object.assign(process.env, options.env ?? {});

  const rules = new DynamoRuleStore({
    client: sandbox.clients.dynamodb,
    tableName: sandbox.environment.RULES_TABLE as string,
  });
  const toAttributes = (attributes: Record<string, string> = {}) =>
    Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [
        k,
        { DataType: 'String', StringValue: v } as MessageAttributeValue,
      ]),
    );

  const harness: Harness = {
    sandbox,
    ...(pipeline ? { pipeline } : {}),
    endpoint: sandbox.endpoint,
    ingestQueueUrl,
    laneQueueUrls,
    dlqUrl,
    clients: { sqs, dynamodb: sandbox.clients.dynamodb, connect },
    async putRules(list) {
      for (const rule of list) await rules.put(rule);
    },
    sampleRule(name) {
      return JSON.parse(readFileSync(resolve(root, 'events/rules', name), 'utf8')) as Record<string, unknown>;
    },
    async send(body, attributes, lane = 'normal') {
      const attrs = toAttributes(attributes);
      const out = await sqs.send(
        new SendMessageCommand({
          QueueUrl: laneQueueUrls[lane],
          MessageBody: body,
          ...(Object.keys(attrs).length ? { MessageAttributes: attrs } : {}),
        }),
      );
      return out.MessageId as string;
    },
    async sendBatch(messages) {
      for (let i = 0; i < messages.length; i += 10) {
        const chunk = messages.slice(i, i + 10);
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: ingestQueueUrl,
            Entries: chunk.map((m, j) => {
              const attrs = toAttributes(m.attributes);
              return {
                Id: String(j),
                MessageBody: m.body,
                ...(Object.keys(attrs).length ? { MessageAttributes: attrs } : {}),
              };
            }),
          }),
        );
        if (out.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
      }
    },
    async idle(idleOptions) {
      if (!pipeline) throw new Error('the pipeline is not running');
      await pipeline.idle(idleOptions);
    },
    tasks() {
      return sandbox.connect.contacts({ channel: 'TASK' });
    },
    async dlq() {
      const entries: DlqEntry[] = [];
      const handles: string[] = [];
      const seen = new Set<string>();
      for (;;) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            VisibilityTimeout: 30,
          }),
        );
        const messages: Message[] = out.Messages ?? [];
        if (messages.length === 0) break;
        for (const m of messages) {
          handles.push(m.ReceiptHandle as string);
          if (seen.has(m.MessageId as string)) continue;
          seen.add(m.MessageId as string);
          entries.push({
            ...readDlqMessage(m),
            messageId: m.MessageId as string,
            receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 0),
          });
        }
      }
      for (const handle of handles) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: dlqUrl,
            ReceiptHandle: handle,
            VisibilityTimeout: 0,
          }),
        );
      }
      return entries;
    },
    async connectConfig(patch) {
      sandbox.connect.configure(patch as Parameters<Sandbox['connect']['configure']>[0]);
    },
    outcomes,
    statuses(body) {
      return outcomes.filter((s) => s.record.body === body).map((s) => s.outcome.status);
    },
    until(condition, what) {
      return new Promise<void>((resolve, reject) => {
        const giveUp = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`gave up waiting for ${what}`));
        }, UNTIL_GIVE_UP_MS);
        function check(): void {
          if (!condition()) return;
          waiters.delete(check);
          clearTimeout(giveUp);
          resolve();
        }
        waiters.add(check);
        check();
      });
    },
    notify,
    async advanceClock(seconds) {
      const res = await fetch(`${sandbox.endpoint}/_sandbox/clock`, {
        method: 'POST',
        body: JSON.stringify({ advanceSeconds: seconds }),
      });
      if (!res.ok) throw new Error(`advancing the clock failed: ${res.status}`);
    },
    async stop() {
      await pipeline?.stop();
      connect.destroy();
      sqs.destroy();
      await sandbox.stop();
    },
  };
  return harness;
}
