import { MAX_BATCH_ENTRIES } from './batch.ts';
import { invalidParameter, SqsApiError } from './errors.ts';
import { md5OfMessageAttributes, type StoredAttributeValue } from './md5.ts';
import type { Queue, StoredMessage } from './queue.ts';
import { READ_ONLY_ATTRIBUTES, SETTABLE_ATTRIBUTES } from './queue-attributes.ts';
import {
  type Action,
  emit,
  isLive,
  notify,
  queueByArn,
  resolveQueue,
  type SqsState,
  trackLongPoll,
} from './state.ts';
import { type JsonObject, optionalInteger, optionalStringList } from './wire.ts';

/**
 * ReceiveMessage: long polling, redrive to the dead-letter queue, the duplicate-delivery fault and the
 * selection of system and message attributes.
 */

export const MAX_VISIBILITY_TIMEOUT = 43_200;
const MAX_WAIT_SECONDS = 20;
/** Long polls re-check at least this often (real ms), so a moved clock releases in-flight messages promptly. */
const LONG_POLL_TICK_MS = 200;

/** System attributes ReceiveMessage can return for a standard queue. */
const MESSAGE_SYSTEM_ATTRIBUTES = new Set([
  'All',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'SenderId',
  'AWSTraceHeader',
  'DeadLetterQueueSourceArn',
  'SqsManagedSseEnabled',
  'MessageDeduplicationId',
  'MessageGroupId',
  'SequenceNumber',
]);

interface ReceiveRequest {
  queue: Queue;
  max: number;
  waitSeconds: number;
  visibilityTimeout: number;
  systemNames: ReadonlySet<string>;
  attributeSelectors: readonly string[];
}

interface ReceivedCopy {
  message: StoredMessage;
  receiptHandle: string;
}

export const receiveMessage: Action = async (state, input) => {
  const request = parseReceive(state, input);
  const received = await longPoll(state, request);
  if (received.length > 0) emit(state.receiveListeners, request.queue.name, received.length);
  return received.length === 0 ? {} : { Messages: renderAll(received, request) };
};

function parseReceive(state: SqsState, input: JsonObject): ReceiveRequest {
  const queue = resolveQueue(state, input);
  const max = optionalInteger(input, 'MaxNumberOfMessages') ?? 1;
  if (max < 1 || max > MAX_BATCH_ENTRIES)
    throw invalidParameter('MaxNumberOfMessages', max, 'Must be between 1 and 10, if provided.');
  const waitSeconds =
    optionalInteger(input, 'WaitTimeSeconds') ?? queue.seconds('ReceiveMessageWaitTimeSeconds');
  if (waitSeconds < 0 || waitSeconds > MAX_WAIT_SECONDS)
    throw invalidParameter('WaitTimeSeconds', waitSeconds, 'Must be >= 0 and <= 20, if provided.');
  const visibilityTimeout = optionalInteger(input, 'VisibilityTimeout') ?? queue.seconds('VisibilityTimeout');
  if (visibilityTimeout < 0 || visibilityTimeout > MAX_VISIBILITY_TIMEOUT)
    throw invalidParameter(
      'VisibilityTimeout',
      visibilityTimeout,
      'Must be between 0 and 43200, if provided.',
    );
  const systemNames = new Set([
    ...(optionalStringList(input, 'AttributeNames') ?? []),
    ...(optionalStringList(input, 'MessageSystemAttributeNames') ?? []),
  ]);
  for (const name of systemNames) {
    // The legacy AttributeNames member is typed as queue attribute names; those are accepted and ignored.
    if (!MESSAGE_SYSTEM_ATTRIBUTES.has(name) && !SETTABLE_ATTRIBUTES.has(name) && !isReadOnly(name))
      throw new SqsApiError('InvalidAttributeName', `Unknown Attribute ${name}.`);
  }
  const attributeSelectors = optionalStringList(input, 'MessageAttributeNames') ?? [];
  return { queue, max, waitSeconds, visibilityTimeout, systemNames, attributeSelectors };
}

export function isReadOnly(name: string): boolean {
  return (READ_ONLY_ATTRIBUTES as readonly string[]).includes(name);
}

/** Receives at once, else waits up to WaitTimeSeconds for messages (or until the queue is deleted). */
async function longPoll(state: SqsState, request: ReceiveRequest): Promise<ReceivedCopy[]> {
  const { queue } = request;
  let received = receiveNow(state, request);
  if (received.length > 0 || request.waitSeconds === 0) return received;
  const deadline = performance.now() + request.waitSeconds * 1000;
  trackLongPoll(state, queue.name, 1);
  try {
    while (received.length === 0 && isLive(state, queue)) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const untilVisible = queue.nextVisibleIn(state.clock()) ?? Number.POSITIVE_INFINITY;
      await queue.waitForMessages(Math.min(remaining, untilVisible, LONG_POLL_TICK_MS));
      if (!isLive(state, queue)) break;
      received = receiveNow(state, request);
    }
  } finally {
    trackLongPoll(state, queue.name, -1);
  }
  return received;
}

/**
 * One receive attempt without waiting: pending duplicates first, then visible messages oldest first,
 * moving those that exhausted maxReceiveCount to the dead-letter queue.
 */
function receiveNow(state: SqsState, { queue, max, visibilityTimeout }: ReceiveRequest): ReceivedCopy[] {
  const t = state.clock();
  queue.expire(t);
  const received: ReceivedCopy[] = [];
  const policy = queue.redrivePolicy;
  const deadLetterQueue = policy ? queueByArn(state, policy.deadLetterTargetArn) : undefined;
  const exhausted = (message: StoredMessage) =>
    policy !== undefined && deadLetterQueue !== undefined && message.receiveCount >= policy.maxReceiveCount;
  const deliver = (message: StoredMessage) =>
    received.push({ message, receiptHandle: queue.markReceived(message, visibilityTimeout, t) });

  while (queue.pendingDuplicates.length > 0 && received.length < max) {
    const message = queue.messages.get(queue.pendingDuplicates.shift() as string);
    if (message && !exhausted(message)) deliver(message);
  }
  for (const message of queue.messages.values()) {
    if (received.length >= max) break;
    if (queue.stateOf(message, t) !== 'visible') continue;
    if (exhausted(message) && deadLetterQueue) {
      moveToDeadLetterQueue(state, queue, message, deadLetterQueue, t);
      continue;
    }
    deliver(message);
    if (
      state.duplicateDeliveryRate > 0 &&
      state.random() < state.duplicateDeliveryRate &&
      !exhausted(message)
    ) {
      if (received.length < max) deliver(message);
      else queue.pendingDuplicates.push(message.id);
    }
  }
  return received;
}

/** Moves a message that exhausted its receives to the dead-letter queue (same id, receive count 0). */
function moveToDeadLetterQueue(
  state: SqsState,
  source: Queue,
  message: StoredMessage,
  target: Queue,
  t: number,
) {
  source.messages.delete(message.id);
  target.add({
    id: message.id,
    body: message.body,
    md5OfBody: message.md5OfBody,
    attributes: message.attributes,
    systemAttributes: message.systemAttributes,
    senderId: message.senderId,
    sentTimestamp: message.sentTimestamp,
    availableAt: t,
    deadLetterQueueSourceArn: source.arn,
    receiveCount: 0,
  });
  notify(state, target);
}

/** A message delivered twice in one response shows the receive count of each delivery. */
function renderAll(received: ReceivedCopy[], request: ReceiveRequest) {
  const counts = new Map<string, number>();
  const deliveries = received.map((copy) => {
    const seen = counts.get(copy.message.id) ?? 0;
    counts.set(copy.message.id, seen + 1);
    return { copy, seen };
  });
  return deliveries.map(({ copy, seen }) => {
    const later = (counts.get(copy.message.id) ?? 1) - seen - 1;
    return renderMessage(copy, request, copy.message.receiveCount - later);
  });
}

function systemAttributeValues(message: StoredMessage, receiveCount: number): Record<string, string> {
  const values: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentTimestamp),
    ApproximateReceiveCount: String(receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
  };
  const trace = message.systemAttributes.AWSTraceHeader?.StringValue;
  if (trace !== undefined) values.AWSTraceHeader = trace;
  if (message.deadLetterQueueSourceArn) values.DeadLetterQueueSourceArn = message.deadLetterQueueSourceArn;
  return values;
}

function renderMessage(copy: ReceivedCopy, request: ReceiveRequest, receiveCountAtDelivery: number) {
  const { message } = copy;
  const { systemNames } = request;
  const out: Record<string, unknown> = {
    MessageId: message.id,
    ReceiptHandle: copy.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
  };
  if (systemNames.size > 0) {
    const selected: Record<string, string> = {};
    for (const [name, value] of Object.entries(systemAttributeValues(message, receiveCountAtDelivery)))
      if (systemNames.has('All') || systemNames.has(name)) selected[name] = value;
    if (Object.keys(selected).length > 0) out.Attributes = selected;
  }
  const chosen: Record<string, StoredAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes))
    if (attributeSelected(name, request.attributeSelectors)) chosen[name] = value;
  const md5 = md5OfMessageAttributes(chosen);
  if (md5) {
    out.MD5OfMessageAttributes = md5;
    out.MessageAttributes = Object.fromEntries(
      Object.entries(chosen).map(([name, value]) => [
        name,
        value.BinaryValue
          ? { DataType: value.DataType, BinaryValue: value.BinaryValue.toString('base64') }
          : { DataType: value.DataType, StringValue: value.StringValue },
      ]),
    );
  }
  return out;
}

/** `All`, `.*`, a name, or `prefix.*` (names starting with `prefix.`). */
function attributeSelected(name: string, selectors: readonly string[]): boolean {
  return selectors.some((selector) => {
    if (selector === 'All' || selector === '.*') return true;
    if (selector.endsWith('.*')) return name.startsWith(selector.slice(0, -1));
    return selector === name;
  });
}
