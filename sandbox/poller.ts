/**
 * The sandbox's SQS event-source mapping: polls a queue and invokes an in-process handler the way the
 * Lambda service does for an `sqs` event in serverless.yml.
 *
 * Semantics kept from Lambda:
 * - at most `maximumConcurrency` invocations at a time (one worker per slot);
 * - a batch is up to `batchSize` records gathered for at most `maximumBatchingWindowSeconds`
 *   (the window opens when the first record of the batch arrives);
 * - the SQSEvent record shape, including message attributes in Lambda's camelCase form;
 * - after the handler returns, the successful records are deleted; with `ReportBatchItemFailures` the
 *   records listed in `batchItemFailures` stay; a malformed response, an unknown or empty
 *   `itemIdentifier`, a throw or a timeout fail the whole batch (nothing deleted: the messages come
 *   back after the queue's visibility timeout).
 *
 * Differences, because the handler runs in this process: a timed-out handler cannot be killed. Its
 * batch counts as failed at once, but its worker waits for it to settle before polling again, so the
 * handler concurrency never exceeds `maximumConcurrency`.
 *
 * Environment: `env` is applied to `process.env` when the poller starts. Function modules that read
 * their configuration at import time need it earlier: the sandbox applies the environment before it
 * imports them.
 */
import { performance } from 'node:perf_hooks';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  type QueueAttributeName,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import { createLambdaContext } from './lambda-context.ts';

/**
 * The function under the mapping. Its result is checked at run time as Lambda does (`SQSBatchResponse`,
 * nothing, or anything else = an invalid response when ReportBatchItemFailures is on).
 */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export interface InvocationInfo {
  records: number;
  /** Records left on the queue as failed (all of them when the invocation failed as a whole). */
  failures: number;
  /** Why the batch failed as a whole: the handler's error, a timeout, or an invalid batch response. */
  error?: unknown;
  durationMs: number;
  /** The `killAfterRate` fault hit: the handler succeeded but nothing was deleted. */
  killed?: boolean;
}

export interface EventSourcePollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** `arn:aws:sqs:<region>:<account>:<name>`; gives the records' eventSourceARN and awsRegion. */
  queueArn: string;
  functionName: string;
  handler: SqsHandler;
  /** 1..10000 (Lambda's range). */
  batchSize: number;
  /** 0..300 seconds. */
  maximumBatchingWindowSeconds: number;
  /** Concurrent invocations, ≥ 1 (Lambda's minimum is 2; 1 is allowed here for tests). */
  maximumConcurrency: number;
  functionTimeoutSeconds: number;
  reportBatchItemFailures: boolean;
  memoryMB?: number;
  env?: Record<string, string>;
  faults?: {
    /** Probability (0..1) that an invocation's deletes are skipped after the handler returned. */
    killAfterRate?: number;
  };
  /** Long-poll wait of the first receive of a batch, 0..20 s; default 20. */
  waitTimeSeconds?: number;
  /** Random source for faults; default Math.random. */
  random?: () => number;
  onInvocation?: (info: InvocationInfo) => void;
  /** Receive and delete failures (the poller retries receives with backoff). */
  onError?: (error: Error) => void;
}

export interface PollerStats {
  invocations: number;
  recordsReceived: number;
  recordsDeleted: number;
  /** Records not deleted because the handler failed them (listed, thrown, timed out, invalid response). */
  recordsFailed: number;
  handlerErrors: number;
  timeouts: number;
  invalidResponses: number;
  killed: number;
  receiveErrors: number;
  deleteErrors: number;
  /** Handlers running now (timed-out handlers included until they settle). */
  inFlight: number;
  /** The most handlers that ever ran at once. */
  peakConcurrency: number;
}

export interface IdleOptions {
  /** Also wait for messages that are in flight elsewhere or waiting out a visibility timeout. Default true. */
  includeInvisible?: boolean;
  /** How often the queue is checked; default 50 ms. */
  intervalMs?: number;
  /** Reject with a `PollerIdleTimeoutError` after this long; default: wait indefinitely. */
  timeoutMs?: number;
}

export interface EventSourcePoller {
  /** Interrupts the long polls, lets running invocations finish (and delete), then resolves. Idempotent. */
  stop(): Promise<void>;
  stats(): PollerStats;
  /** Resolves when the queue is empty and no batch is being gathered or processed. */
  idle(opts?: IdleOptions): Promise<void>;
  /** True while a batch is being gathered or processed (a handler may be running). */
  busy(): boolean;
}

export class PollerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PollerError';
  }
}

export class HandlerTimeoutError extends PollerError {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`${functionName} timed out after ${timeoutSeconds} s`);
    this.name = 'HandlerTimeoutError';
  }
}

/** The handler's response fails the whole batch, as on Lambda. */
export class InvalidBatchResponseError extends PollerError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchResponseError';
  }
}

export class MalformedSqsMessageError extends PollerError {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedSqsMessageError';
  }
}

export class PollerStoppedError extends PollerError {
  constructor() {
    super('The event-source poller was stopped before the queue became idle');
    this.name = 'PollerStoppedError';
  }
}

export class PollerIdleTimeoutError extends PollerError {
  constructor(timeoutMs: number) {
    super(`The queue did not become idle within ${timeoutMs} ms`);
    this.name = 'PollerIdleTimeoutError';
  }
}

const MAX_RECEIVE = 10;
const MAX_DELETE = 10;
const SHORT_POLL_PAUSE_MS = 50;
const RECEIVE_BACKOFF_BASE_MS = 100;
const RECEIVE_BACKOFF_MAX_MS = 5_000;

function validate(opts: EventSourcePollerOptions): { region: string } {
  const integerIn = (name: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(
        `startEventSourcePoller: ${name} must be an integer in ${min}..${max}, got ${value}`,
      );
    }
  };
  integerIn('batchSize', opts.batchSize, 1, 10_000);
  integerIn('maximumConcurrency', opts.maximumConcurrency, 1, 1_000);
  if (
    !Number.isFinite(opts.maximumBatchingWindowSeconds) ||
    opts.maximumBatchingWindowSeconds < 0 ||
    opts.maximumBatchingWindowSeconds > 300
  ) {
    throw new TypeError('startEventSourcePoller: maximumBatchingWindowSeconds must be in 0..300');
  }
  if (!Number.isFinite(opts.functionTimeoutSeconds) || opts.functionTimeoutSeconds <= 0) {
    throw new TypeError('startEventSourcePoller: functionTimeoutSeconds must be a positive number');
  }
  if (opts.waitTimeSeconds !== undefined) integerIn('waitTimeSeconds', opts.waitTimeSeconds, 0, 20);
  const rate = opts.faults?.killAfterRate;
  if (rate !== undefined && (!Number.isFinite(rate) || rate < 0 || rate > 1)) {
    throw new TypeError('startEventSourcePoller: faults.killAfterRate must be in 0..1');
  }
  if (!opts.queueUrl) throw new TypeError('startEventSourcePoller: queueUrl is required');
  if (typeof opts.handler !== 'function')
    throw new TypeError('startEventSourcePoller: handler must be a function');
  const arn = /^arn:[^:]+:sqs:([^:]+):[^:]*:[^:]+$/.exec(opts.queueArn);
  if (!arn?.[1])
    throw new TypeError(`startEventSourcePoller: queueArn "${opts.queueArn}" is not an SQS queue ARN`);
  return { region: arn[1] };
}

const toError = (error: unknown) => (error instanceof Error ? error : new PollerError(String(error)));

const isAbort = (error: unknown) => error instanceof Error && error.name === 'AbortError';

/** Resolves after `ms` (never, for Infinity), or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A message attribute in Lambda's record form: binary values base64, the reserved list fields empty. */
function toLambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  return {
    ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined
      ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
      : {}),
    stringListValues: [],
    binaryListValues: [],
    dataType: value.DataType ?? 'String',
  };
}

const REQUIRED_SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
] as const;

/**
 * Converts one ReceiveMessage result into the record Lambda hands to the function.
 * Input: the SDK message (received with all system and message attributes), queue ARN and region.
 * Output: an `SQSRecord`; throws `MalformedSqsMessageError` when SQS left out a required field.
 */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const { MessageId, ReceiptHandle, Body, MD5OfBody, MD5OfMessageAttributes } = message;
  if (!MessageId || !ReceiptHandle || Body === undefined || !MD5OfBody) {
    throw new MalformedSqsMessageError(
      'ReceiveMessage returned a message without id, receipt handle, body or MD5',
    );
  }
  const system = message.Attributes ?? {};
  for (const name of REQUIRED_SYSTEM_ATTRIBUTES) {
    if (system[name] === undefined) {
      throw new MalformedSqsMessageError(`ReceiveMessage returned message ${MessageId} without ${name}`);
    }
  }
  const messageAttributes: Record<string, SQSMessageAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = toLambdaAttribute(value);
  }
  const record: SQSRecord = {
    messageId: MessageId,
    receiptHandle: ReceiptHandle,
    body: Body,
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount as string,
      SentTimestamp: system.SentTimestamp as string,
      SenderId: system.SenderId as string,
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp as string,
      ...system,
    },
    messageAttributes,
    md5OfBody: MD5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (MD5OfMessageAttributes) record.md5OfMessageAttributes = MD5OfMessageAttributes;
  return record;
}

/**
 * Decides which records of a batch succeeded, as Lambda does.
 * Input: the batch, the handler's return value, whether ReportBatchItemFailures is on.
 * Output: the message ids that failed; throws `InvalidBatchResponseError` when the whole batch fails.
 */
export function failedMessageIds(
  records: readonly SQSRecord[],
  response: unknown,
  reportBatchItemFailures: boolean,
): Set<string> {
  const failed = new Set<string>();
  if (!reportBatchItemFailures || response === undefined || response === null) return failed;
  if (typeof response !== 'object' || Array.isArray(response)) {
    throw new InvalidBatchResponseError('The handler response is not an object');
  }
  const items = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (items === undefined || items === null) return failed;
  if (!Array.isArray(items)) throw new InvalidBatchResponseError('batchItemFailures is not a list');
  const ids = new Set(records.map((r) => r.messageId));
  for (const item of items) {
    const id = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') {
      throw new InvalidBatchResponseError('A batchItemFailures entry has no itemIdentifier');
    }
    if (!ids.has(id))
      throw new InvalidBatchResponseError('A batchItemFailures itemIdentifier is not in the batch');
    failed.add(id);
  }
  return failed;
}

/**
 * Starts the event-source mapping.
 *
 * Input: the SQS client (pointed at the sandbox), the queue, the handler and the event-source settings.
 * Output: a running poller with `stop`, `stats` and `idle`.
 * Primary course, per worker: long-poll → gather a batch within the window → build the SQSEvent and a
 * Context → invoke (bounded by the function timeout) → delete the successes → repeat until stopped.
 */
export function startEventSourcePoller(opts: EventSourcePollerOptions): EventSourcePoller {
  const { region } = validate(opts);
  if (opts.env) Object.assign(process.env, opts.env);

  const random = opts.random ?? Math.random;
  const killAfterRate = opts.faults?.killAfterRate ?? 0;
  const waitTimeSeconds = opts.waitTimeSeconds ?? 20;
  const windowMs = opts.maximumBatchingWindowSeconds * 1000;
  const stopController = new AbortController();
  const stopSignal = stopController.signal;

  const stats: PollerStats = {
    invocations: 0,
    recordsReceived: 0,
    recordsDeleted: 0,
    recordsFailed: 0,
    handlerErrors: 0,
    timeouts: 0,
    invalidResponses: 0,
    killed: 0,
    receiveErrors: 0,
    deleteErrors: 0,
    inFlight: 0,
    peakConcurrency: 0,
  };
  /** Workers holding received messages (gathering, invoking or deleting). */
  let busyWorkers = 0;

  const report = (error: unknown) => opts.onError?.(toError(error));

  async function receive(max: number, wait: number): Promise<Message[]> {
    const out = await opts.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: wait,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: stopSignal },
    );
    return out.Messages ?? [];
  }

  /** Gathers up to batchSize messages; the window opens with the first message. Empty when stopped. */
  async function gather(): Promise<Message[]> {
    const batch: Message[] = [];
    let receiveFailures = 0;
    let windowEnd = Number.POSITIVE_INFINITY;
    while (!stopSignal.aborted && batch.length < opts.batchSize) {
      const remaining = windowEnd - performance.now();
      if (batch.length > 0 && remaining <= 0) break;
      const wait = batch.length === 0 ? waitTimeSeconds : Math.min(20, Math.floor(remaining / 1000));
      let messages: Message[];
      try {
        messages = await receive(Math.min(MAX_RECEIVE, opts.batchSize - batch.length), wait);
        receiveFailures = 0;
      } catch (error) {
        if (stopSignal.aborted && isAbort(error)) break;
        stats.receiveErrors++;
        report(error);
        receiveFailures++;
        const backoff = Math.min(
          RECEIVE_BACKOFF_MAX_MS,
          RECEIVE_BACKOFF_BASE_MS * 2 ** (receiveFailures - 1),
        );
        await pause(batch.length > 0 ? Math.min(backoff, Math.max(0, remaining)) : backoff, stopSignal);
        continue;
      }
      if (messages.length > 0) {
        if (batch.length === 0) {
          busyWorkers++;
          windowEnd = performance.now() + windowMs;
        }
        batch.push(...messages);
        stats.recordsReceived += messages.length;
      } else if (batch.length > 0 && wait === 0) {
        // Less than a second of window left: short polls with a pause, so the window is not overshot.
        await pause(Math.min(SHORT_POLL_PAUSE_MS, Math.max(0, windowEnd - performance.now())), stopSignal);
      }
    }
    return batch;
  }

  async function deleteRecords(records: readonly SQSRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += MAX_DELETE) {
      const chunk = records.slice(i, i + MAX_DELETE);
      try {
        const out = await opts.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
          }),
        );
        const failed = out.Failed?.length ?? 0;
        stats.recordsDeleted += chunk.length - failed;
        if (failed > 0) {
          stats.deleteErrors += failed;
          report(new PollerError(`DeleteMessageBatch failed for ${failed} of ${chunk.length} messages`));
        }
      } catch (error) {
        stats.deleteErrors += chunk.length;
        report(new PollerError('DeleteMessageBatch failed', { cause: error }));
      }
    }
  }

  /** Runs the handler bounded by the function timeout; a timed-out handler is awaited separately. */
  async function invoke(records: SQSRecord[]): Promise<void> {
    const started = performance.now();
    const context = createLambdaContext({
      functionName: opts.functionName,
      timeoutMs: opts.functionTimeoutSeconds * 1000,
      region,
      ...(opts.memoryMB !== undefined ? { memoryMB: opts.memoryMB } : {}),
    });
    stats.invocations++;
    stats.inFlight++;
    stats.peakConcurrency = Math.max(stats.peakConcurrency, stats.inFlight);
    const running = Promise.resolve()
      .then(() => opts.handler({ Records: records }, context))
      .finally(() => {
        stats.inFlight--;
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HandlerTimeoutError(opts.functionName, opts.functionTimeoutSeconds)),
        opts.functionTimeoutSeconds * 1000,
      );
    });

    let failed: Set<string>;
    let error: unknown;
    let killed = false;
    try {
      const response = await Promise.race([running, timeout]);
      failed = failedMessageIds(records, response, opts.reportBatchItemFailures);
    } catch (caught) {
      error = caught;
      failed = new Set(records.map((r) => r.messageId));
      if (caught instanceof HandlerTimeoutError) stats.timeouts++;
      else if (caught instanceof InvalidBatchResponseError) stats.invalidResponses++;
      else stats.handlerErrors++;
    } finally {
      clearTimeout(timer);
    }

    const successes = records.filter((r) => !failed.has(r.messageId));
    stats.recordsFailed += failed.size;
    if (error === undefined && successes.length > 0 && killAfterRate > 0 && random() < killAfterRate) {
      killed = true;
      stats.killed++;
    } else if (successes.length > 0) {
      await deleteRecords(successes);
    }
    opts.onInvocation?.({
      records: records.length,
      failures: failed.size,
      durationMs: performance.now() - started,
      ...(error !== undefined ? { error } : {}),
      ...(killed ? { killed } : {}),
    });

    if (error instanceof HandlerTimeoutError) {
      // Keep the concurrency bound: the stray handler still runs in this process. Stopping does not wait.
      await Promise.race([running.then(noop, noop), pause(Number.POSITIVE_INFINITY, stopSignal)]);
    }
  }

  async function worker(): Promise<void> {
    while (!stopSignal.aborted) {
      const messages = await gather();
      if (messages.length === 0) continue;
      try {
        const records = messages.map((m) => toSqsRecord(m, opts.queueArn, region));
        await invoke(records);
      } catch (error) {
        // Malformed messages (a contract problem of the queue) come back after the visibility timeout.
        report(error);
      } finally {
        busyWorkers--;
      }
    }
  }

  const workers = Array.from({ length: opts.maximumConcurrency }, () => worker());
  const stopped = Promise.all(workers).then(noop);

  async function queueIsEmpty(includeInvisible: boolean): Promise<boolean> {
    const names: QueueAttributeName[] = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'];
    if (includeInvisible) names.push('ApproximateNumberOfMessagesNotVisible');
    const out = await opts.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: opts.queueUrl, AttributeNames: names }),
    );
    return names.every((name) => Number(out.Attributes?.[name] ?? '0') === 0);
  }

  async function idle(idleOpts: IdleOptions = {}): Promise<void> {
    const includeInvisible = idleOpts.includeInvisible ?? true;
    const intervalMs = idleOpts.intervalMs ?? 50;
    const deadline = idleOpts.timeoutMs === undefined ? undefined : performance.now() + idleOpts.timeoutMs;
    let quietChecks = 0;
    // Two quiet checks in a row: a message can be between the queue and a worker during one check.
    while (quietChecks < 2) {
      const quiet = busyWorkers === 0 && stats.inFlight === 0 && (await queueIsEmpty(includeInvisible));
      quietChecks = quiet ? quietChecks + 1 : 0;
      if (quietChecks >= 2) break;
      if (!quiet && stopSignal.aborted) throw new PollerStoppedError();
      if (deadline !== undefined && performance.now() >= deadline) {
        throw new PollerIdleTimeoutError(idleOpts.timeoutMs ?? 0);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  return {
    stop: async () => {
      stopController.abort();
      await stopped;
    },
    stats: () => ({ ...stats }),
    idle,
    busy: () => busyWorkers > 0 || stats.inFlight > 0,
  };
}

function noop(): void {}
