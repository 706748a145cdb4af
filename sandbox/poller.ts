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
import { SandboxError } from './errors.ts';
import { createLambdaContext } from './lambda-context.ts';

/**
 * The function under the mapping. Its result is checked at run time as Lambda does (`SQSBatchResponse`,
 * nothing, or anything else = an invalid response when ReportBatchItemFailures is on).
 */
type SqsHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

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
  /**
   * Long-poll wait of the first receive of a batch, 0..20 s.
   * @default 20
   */
  waitTimeSeconds?: number;
  /**
   * Random source for faults.
   * @default Math.random
   */
  random?: () => number;
  onInvocation?: (info: InvocationInfo) => void;
  /** Receive and delete failures (the poller retries receives with backoff). */
  onError?: (error: Error) => void;
  /**
   * Monotonic clock in ms for batching windows, durations, idle timeouts and the Context's remaining time;
   * default `performance.now`. The function timeout itself stays a real timer.
   */
  monotonicNow?: () => number;
}

interface PollerStats {
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
  /**
   * Also wait for the hidden messages: in flight elsewhere, waiting out a visibility timeout, or
   * delayed (a message sent with DelaySeconds is hidden until then, as one whose visibility was
   * pushed out). Default true.
   */
  includeInvisible?: boolean;
  /**
   * How often the queue is checked.
   * @default 50 ms
   */
  intervalMs?: number;
  /**
   * Reject with a `PollerIdleTimeoutError` after this long.
   * @default wait indefinitely
   */
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

class PollerError extends SandboxError {}

export class HandlerTimeoutError extends PollerError {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`${functionName} timed out after ${timeoutSeconds} s`);
  }
}

/** The handler's response fails the whole batch, as on Lambda. */
export class InvalidBatchResponseError extends PollerError {}

export class MalformedSqsMessageError extends PollerError {}

class PollerStoppedError extends PollerError {
  constructor() {
    super('The event-source poller was stopped before the queue became idle');
  }
}

export class PollerIdleTimeoutError extends PollerError {
  constructor(timeoutMs: number) {
    super(`The queue did not become idle within ${timeoutMs} ms`);
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

/** One running mapping: its settings, counters and stop signal, shared by the steps below. */
interface Mapping {
  opts: EventSourcePollerOptions;
  region: string;
  stats: PollerStats;
  signal: AbortSignal;
  /** Workers holding received messages (gathering, invoking or deleting). */
  busyWorkers: number;
  monotonicNow: () => number;
  report(error: unknown): void;
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
  const stopController = new AbortController();
  const mapping: Mapping = {
    opts,
    region,
    stats: emptyStats(),
    signal: stopController.signal,
    busyWorkers: 0,
    monotonicNow: opts.monotonicNow ?? (() => performance.now()),
    report: (error) => opts.onError?.(toError(error)),
  };
  const workers = Array.from({ length: opts.maximumConcurrency }, () => runWorker(mapping));
  const stopped = Promise.all(workers).then(noop);
  return {
    stop: async () => {
      stopController.abort();
      await stopped;
    },
    stats: () => ({ ...mapping.stats }),
    idle: (idleOpts) => waitForIdle(mapping, idleOpts),
    busy: () => isBusy(mapping),
  };
}

function emptyStats(): PollerStats {
  return {
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
}

function isBusy(m: Mapping): boolean {
  return m.busyWorkers > 0 || m.stats.inFlight > 0;
}

/** One concurrency slot: gather a batch, invoke, repeat until stopped. */
async function runWorker(m: Mapping): Promise<void> {
  while (!m.signal.aborted) {
    const messages = await gatherBatch(m);
    if (messages.length === 0) continue;
    try {
      await invokeBatch(
        m,
        messages.map((message) => toSqsRecord(message, m.opts.queueArn, m.region)),
      );
    } catch (error) {
      // Malformed messages (a contract problem of the queue) come back after the visibility timeout.
      m.report(error);
    } finally {
      m.busyWorkers--;
    }
  }
}

// ------------------------------------------------------------------------------------------ receive

/** A batch being gathered: the window opens with its first message. */
interface Gathering {
  batch: Message[];
  windowEnd: number;
  receiveFailures: number;
}

/** Gathers up to batchSize messages within the batching window. Empty when stopped. */
async function gatherBatch(m: Mapping): Promise<Message[]> {
  const g: Gathering = { batch: [], windowEnd: Number.POSITIVE_INFINITY, receiveFailures: 0 };
  while (!m.signal.aborted && g.batch.length < m.opts.batchSize) {
    const remaining = g.windowEnd - m.monotonicNow();
    if (g.batch.length > 0 && remaining <= 0) break;
    const wait =
      g.batch.length === 0 ? (m.opts.waitTimeSeconds ?? 20) : Math.min(20, Math.floor(remaining / 1000));
    if ((await receiveInto(m, g, wait, remaining)) === 'stopped') break;
  }
  return g.batch;
}

/** One ReceiveMessage into the batch; a failure backs off, an empty short poll pauses. */
async function receiveInto(
  m: Mapping,
  g: Gathering,
  wait: number,
  remaining: number,
): Promise<'stopped' | 'received'> {
  let messages: Message[];
  try {
    messages = await receiveMessages(m, Math.min(MAX_RECEIVE, m.opts.batchSize - g.batch.length), wait);
    g.receiveFailures = 0;
  } catch (error) {
    if (m.signal.aborted && isAbort(error)) return 'stopped';
    await backOffAfterReceiveError(m, g, error, remaining);
    return 'received';
  }
  if (messages.length > 0) addToBatch(m, g, messages);
  else if (g.batch.length > 0 && wait === 0) {
    // Less than a second of window left: short polls with a pause, so the window is not overshot.
    await pause(Math.min(SHORT_POLL_PAUSE_MS, Math.max(0, g.windowEnd - m.monotonicNow())), m.signal);
  }
  return 'received';
}

async function receiveMessages(m: Mapping, max: number, wait: number): Promise<Message[]> {
  const out = await m.opts.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: m.opts.queueUrl,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: wait,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
    { abortSignal: m.signal },
  );
  return out.Messages ?? [];
}

function addToBatch(m: Mapping, g: Gathering, messages: Message[]): void {
  if (g.batch.length === 0) {
    m.busyWorkers++;
    g.windowEnd = m.monotonicNow() + m.opts.maximumBatchingWindowSeconds * 1000;
  }
  g.batch.push(...messages);
  m.stats.recordsReceived += messages.length;
}

/** Exponential backoff from 100 ms to 5 s; never past the open window of a batch already started. */
async function backOffAfterReceiveError(
  m: Mapping,
  g: Gathering,
  error: unknown,
  remaining: number,
): Promise<void> {
  m.stats.receiveErrors++;
  m.report(error);
  g.receiveFailures++;
  const backoff = Math.min(RECEIVE_BACKOFF_MAX_MS, RECEIVE_BACKOFF_BASE_MS * 2 ** (g.receiveFailures - 1));
  await pause(g.batch.length > 0 ? Math.min(backoff, Math.max(0, remaining)) : backoff, m.signal);
}

// ------------------------------------------------------------------------------------------ invoke

interface HandlerOutcome {
  /** Settles when the handler does (later than the outcome, for a timed-out handler). */
  running: Promise<unknown>;
  failed: Set<string>;
  error?: unknown;
}

/** Invokes the handler on a batch, deletes the successes and reports the invocation. */
async function invokeBatch(m: Mapping, records: SQSRecord[]): Promise<void> {
  const started = m.monotonicNow();
  const outcome = await runHandler(m, records);
  const killed = await settleBatch(m, records, outcome);
  m.opts.onInvocation?.({
    records: records.length,
    failures: outcome.failed.size,
    durationMs: m.monotonicNow() - started,
    ...(outcome.error !== undefined ? { error: outcome.error } : {}),
    ...(killed ? { killed } : {}),
  });
  if (outcome.error instanceof HandlerTimeoutError) {
    // Keep the concurrency bound: the stray handler still runs in this process. Stopping does not wait.
    await Promise.race([outcome.running.then(noop, noop), pause(Number.POSITIVE_INFINITY, m.signal)]);
  }
}

/** Runs the handler bounded by the function timeout and decides which records failed. */
async function runHandler(m: Mapping, records: SQSRecord[]): Promise<HandlerOutcome> {
  const running = startHandler(m, records);
  try {
    const response = await withFunctionTimeout(m.opts, running);
    return { running, failed: failedMessageIds(records, response, m.opts.reportBatchItemFailures) };
  } catch (error) {
    if (error instanceof HandlerTimeoutError) m.stats.timeouts++;
    else if (error instanceof InvalidBatchResponseError) m.stats.invalidResponses++;
    else m.stats.handlerErrors++;
    return { running, failed: new Set(records.map((r) => r.messageId)), error };
  }
}

/** Calls the handler with the SQSEvent and a fresh Context, counting it in flight until it settles. */
function startHandler(m: Mapping, records: SQSRecord[]): Promise<unknown> {
  const { opts, stats } = m;
  const context = createLambdaContext({
    functionName: opts.functionName,
    timeoutMs: opts.functionTimeoutSeconds * 1000,
    region: m.region,
    now: m.monotonicNow,
    ...(opts.memoryMB !== undefined ? { memoryMB: opts.memoryMB } : {}),
  });
  stats.invocations++;
  stats.inFlight++;
  stats.peakConcurrency = Math.max(stats.peakConcurrency, stats.inFlight);
  return Promise.resolve()
    .then(() => opts.handler({ Records: records }, context))
    .finally(() => {
      stats.inFlight--;
    });
}

/** The handler's result, or a `HandlerTimeoutError` once the function timeout passes. */
async function withFunctionTimeout(opts: EventSourcePollerOptions, running: Promise<unknown>) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HandlerTimeoutError(opts.functionName, opts.functionTimeoutSeconds)),
      opts.functionTimeoutSeconds * 1000,
    );
  });
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deletes the successes, unless the `killAfterRate` fault hits; returns whether it did. */
async function settleBatch(m: Mapping, records: SQSRecord[], outcome: HandlerOutcome): Promise<boolean> {
  const successes = records.filter((r) => !outcome.failed.has(r.messageId));
  m.stats.recordsFailed += outcome.failed.size;
  if (successes.length === 0) return false;
  const killAfterRate = m.opts.faults?.killAfterRate ?? 0;
  const random = m.opts.random ?? Math.random;
  if (outcome.error === undefined && killAfterRate > 0 && random() < killAfterRate) {
    m.stats.killed++;
    return true;
  }
  for (let i = 0; i < successes.length; i += MAX_DELETE) {
    await deleteChunk(m, successes.slice(i, i + MAX_DELETE));
  }
  return false;
}

async function deleteChunk(m: Mapping, chunk: readonly SQSRecord[]): Promise<void> {
  try {
    const out = await m.opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: m.opts.queueUrl,
        Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
      }),
    );
    const failed = out.Failed?.length ?? 0;
    m.stats.recordsDeleted += chunk.length - failed;
    if (failed > 0) {
      m.stats.deleteErrors += failed;
      m.report(new PollerError(`DeleteMessageBatch failed for ${failed} of ${chunk.length} messages`));
    }
  } catch (error) {
    m.stats.deleteErrors += chunk.length;
    m.report(new PollerError('DeleteMessageBatch failed', { cause: error }));
  }
}

// ------------------------------------------------------------------------------------------ idle

async function queueIsEmpty(m: Mapping, includeInvisible: boolean): Promise<boolean> {
  const names: QueueAttributeName[] = ['ApproximateNumberOfMessages'];
  if (includeInvisible)
    names.push('ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed');
  const out = await m.opts.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: m.opts.queueUrl, AttributeNames: names }),
  );
  return names.every((name) => Number(out.Attributes?.[name] ?? '0') === 0);
}

/** Resolves after two quiet checks in a row: a message can be between the queue and a worker during one. */
async function waitForIdle(m: Mapping, idleOpts: IdleOptions = {}): Promise<void> {
  const includeInvisible = idleOpts.includeInvisible ?? true;
  const intervalMs = idleOpts.intervalMs ?? 50;
  const deadline = idleOpts.timeoutMs === undefined ? undefined : m.monotonicNow() + idleOpts.timeoutMs;
  let quietChecks = 0;
  while (quietChecks < 2) {
    const quiet = !isBusy(m) && (await queueIsEmpty(m, includeInvisible));
    quietChecks = quiet ? quietChecks + 1 : 0;
    if (quietChecks >= 2) break;
    if (!quiet && m.signal.aborted) throw new PollerStoppedError();
    if (deadline !== undefined && m.monotonicNow() >= deadline) {
      throw new PollerIdleTimeoutError(idleOpts.timeoutMs ?? 0);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function noop(): void {}
