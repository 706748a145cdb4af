/**
 * The shared setup of the sandbox EventBridge and contact event tests: a bare sandbox (no pipeline)
 * on a free port with the real Connect, SQS and EventBridge clients, reset (`POST /_sandbox/reset`)
 * before each test, and a reader of the events a rule delivered to a queue.
 *
 *   const f = useEventsSandbox();
 *   it('…', async () => { …; const events = await f.drain(); … });
 */
import { ConnectClient } from '@aws-sdk/client-connect';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { EventEnvelope } from '#sandbox/events/envelope.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '#sandbox/index.ts';
import { loopbackClientConfig } from './loopback.ts';

export interface EventsFixture {
  readonly sandbox: Sandbox;
  readonly connect: ConnectClient;
  readonly sqs: SQSClient;
  readonly eventbridge: EventBridgeClient;
  /** A request to the admin API, `path` after `/_sandbox/`. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs `body` as JSON to the admin API. */
  post(path: string, body?: unknown): Promise<Response>;
  /** Every message on the queue `logicalId` now (deleted as read), parsed, in the order received. */
  drain(logicalId?: string): Promise<EventEnvelope[]>;
}

/** Starts the sandbox (with `options()`, read when it starts) before the tests of the enclosing scope. */
export function useEventsSandbox(options: () => SandboxOptions = () => ({})): EventsFixture {
  let started: { sandbox: Sandbox; connect: ConnectClient; sqs: SQSClient; eventbridge: EventBridgeClient };
  beforeAll(async () => {
    const sandbox = await startSandbox({ port: 0, ...options() });
    const config = loopbackClientConfig(sandbox.endpoint);
    started = {
      sandbox,
      connect: new ConnectClient(config),
      sqs: new SQSClient(config),
      eventbridge: new EventBridgeClient(config),
    };
  });
  afterAll(async () => {
    started.connect.destroy();
    started.sqs.destroy();
    started.eventbridge.destroy();
    await started.sandbox.stop();
  });
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${started.sandbox.endpoint}/_sandbox/${path}`, init);
  beforeEach(async () => {
    await admin('reset', { method: 'POST' });
  });
  return {
    get sandbox() {
      return started.sandbox;
    },
    get connect() {
      return started.connect;
    },
    get sqs() {
      return started.sqs;
    },
    get eventbridge() {
      return started.eventbridge;
    },
    admin,
    post: (path, body = {}) =>
      admin(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    drain: (logicalId = 'ContactEventsQueue') => drainQueue(started.sqs, started.sandbox, logicalId),
  };
}

async function drainQueue(sqs: SQSClient, sandbox: Sandbox, logicalId: string): Promise<EventEnvelope[]> {
  const QueueUrl = sandbox.resources.queues[logicalId]?.url;
  if (!QueueUrl) throw new Error(`serverless.yml declares no queue ${logicalId}`);
  const events: EventEnvelope[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return events;
    events.push(...Messages.map((m) => JSON.parse(m.Body as string) as EventEnvelope));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
      }),
    );
  }
}
