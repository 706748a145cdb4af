/**
 * The benchmarks' workload: CRM case events (events/messages/cloudevents.json, one distinct case per
 * message so each one is a distinct task) under the crm-case rule (events/rules/crm-case.json), a
 * backlog sent to the ingest queue with bounded parallelism, and the per-instance ingest handler the
 * sandbox pipeline runs.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectClient } from '@aws-sdk/client-connect';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type MessageAttributeValue, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ingestConfigFromEnv } from '#lib/config.ts';
import { createIngestHandler, type IngestRuntime } from '#lib/ingest/handler.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import type { Sandbox } from '#sandbox/index.ts';

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
export const MESSAGE_FILE = 'events/messages/cloudevents.json';

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
      const base = {
        ...ingestConfigFromEnv(),
        ingestQueueUrl: process.env.INGEST_QUEUE_URL ?? '',
      };
      if (base.ingestQueueUrl === '') throw new BenchError('INGEST_QUEUE_URL is not set');
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
