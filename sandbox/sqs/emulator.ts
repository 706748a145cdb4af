import { randomUUID } from 'node:crypto';
import { now as clockNow } from '#lib/clock.ts';
import type { EmulatorHandler, EmulatorRequest, EmulatorResponse } from '#sandbox/http-types.ts';
import {
  errorResponseParts,
  invalidParameter,
  missingParameter,
  queueDoesNotExist,
  SqsApiError,
  SqsEmulatorError,
} from './errors.ts';
import { md5OfBody, md5OfMessageAttributes, type StoredAttributeValue } from './md5.ts';
import { assertValidBody, messageSize, messageTooLong, parseMessageAttributes } from './message-input.ts';
import { decodeReceiptHandle, Queue, type StoredMessage } from './queue.ts';
import {
  normaliseQueueAttributes,
  READ_ONLY_ATTRIBUTES,
  redriveAllowed,
  SETTABLE_ATTRIBUTES,
} from './queue-attributes.ts';
import {
  isJsonObject,
  type JsonObject,
  optionalInteger,
  optionalObjectList,
  optionalString,
  optionalStringList,
  optionalStringMap,
  requiredString,
} from './wire.ts';

/**
 * The sandbox's SQS: standard queues over the AWS JSON 1.0 protocol, as the AWS SDK v3 SQS client speaks it.
 *
 * Semantics follow real SQS (standard queues). Choices where SQS leaves room, or where the sandbox differs:
 * - Messages are served oldest first, every visible message is eligible (no server sampling).
 * - DeleteMessage with a stale receipt handle (the message was received again since) succeeds and deletes
 *   the message, which is what standard queues do in practice; deleting an already deleted message succeeds.
 *   ChangeMessageVisibility with a stale handle fails with `ReceiptHandleIsInvalid` ("The receipt handle has
 *   expired."); on a deleted message with `InvalidParameterValue`; on a message no longer in flight with
 *   `MessageNotInflight`. A visibility change may not extend past 12 hours from the latest receive.
 * - Redrive: a message about to be received for the (maxReceiveCount + 1)th time moves to the dead-letter
 *   queue instead, keeping id, body, attributes and SentTimestamp (retention still counts from the original
 *   send, as for standard queues), with receive count 0 and system attribute DeadLetterQueueSourceArn.
 * - A message over MaximumMessageSize (default 262,144 bytes) is `InvalidParameterValue` ("Message must be
 *   shorter than ..."), the code real SQS returns; there is no `MessageTooLong` code in SQS.
 * - Not emulated: FIFO queues, PurgeQueue's one-per-60-seconds limit, QueueDeletedRecently, permissions,
 *   KMS, message move tasks.
 */

export interface SqsEmulatorOptions {
  /** Account id in queue URLs and ARNs; default 000000000000. */
  accountId?: string;
  /** Region in ARNs; default us-east-1. */
  region?: string;
  /** Business clock in epoch ms (visibility, delays, retention); default the movable `#lib/clock.ts` clock. */
  now?: () => number;
  /** Random numbers in [0, 1) for fault injection; default Math.random. */
  random?: () => number;
}

export interface SqsQueueRef {
  url(endpointBase: string): string;
  arn: string;
}

export interface SqsQueueStats {
  name: string;
  visible: number;
  notVisible: number;
  delayed: number;
}

export interface SqsFaults {
  /** Chance (0..1) that a received message is delivered a second time, in the same or the next receive. */
  duplicateDeliveryRate?: number;
}

export interface SqsEmulator {
  /** Serves requests with header `x-amz-target: AmazonSQS.<Action>`; never throws. */
  handle: EmulatorHandler;
  /** Creates a queue (idempotent for the same attributes; `SqsApiError` QueueNameExists otherwise). */
  createQueue(name: string, attributes?: Record<string, string>): SqsQueueRef;
  /** arn:aws:sqs:<region>:<accountId>:<name> */
  queueArn(name: string): string;
  stats(): SqsQueueStats[];
  setFaults(faults: SqsFaults): void;
  /** Purges every queue's messages; queues and their attributes stay. */
  reset(): void;
  /**
   * Calls `listener(queueName)` whenever messages become available in a queue by an action (send, batch
   * send, a redrive move to a dead-letter queue, a visibility change to 0). Returns an unsubscribe function.
   */
  onSend(listener: (queueName: string) => void): () => void;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_ENTRIES = 10;
const MAX_VISIBILITY_TIMEOUT = 43_200;
const MAX_DELAY_SECONDS = 900;
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

const JSON_HEADERS = { 'content-type': 'application/x-amz-json-1.0' } as const;

type ActionResult = Record<string, unknown>;
type Action = (input: JsonObject, context: RequestContext) => ActionResult | Promise<ActionResult>;

interface RequestContext {
  /** `<scheme>://<host>` of the request, for queue URLs. */
  origin: string;
  senderId: string;
}

interface ReceivedCopy {
  message: StoredMessage;
  receiptHandle: string;
}

/** Builds an SQS emulator. See the module doc for semantics. */
export function createSqsEmulator(options: SqsEmulatorOptions = {}): SqsEmulator {
  const accountId = options.accountId ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  const clock = options.now ?? clockNow;
  const random = options.random ?? Math.random;
  const queues = new Map<string, Queue>();
  const listeners = new Set<(queueName: string) => void>();
  let duplicateDeliveryRate = 0;

  const queueArn = (name: string) => `arn:aws:sqs:${region}:${accountId}:${name}`;
  const queueUrl = (origin: string, name: string) => `${origin.replace(/\/+$/, '')}/${accountId}/${name}`;

  const notify = (queue: Queue) => {
    queue.wake();
    for (const listener of [...listeners]) {
      try {
        listener(queue.name);
      } catch {
        // A listener's failure must not fail the producer's send.
      }
    }
  };

  const queueByArn = (arn: string): Queue | undefined => {
    for (const queue of queues.values()) if (queue.arn === arn) return queue;
    return undefined;
  };

  /** Resolves a QueueUrl by its last path segment (the SDK may send it to any host, e.g. the edge). */
  const resolveQueue = (input: JsonObject): Queue => {
    const url = requiredString(input, 'QueueUrl');
    const path = url.split(/[?#]/, 1)[0] ?? '';
    const name = path
      .split('/')
      .filter((segment) => segment.length > 0)
      .pop();
    const queue = name === undefined ? undefined : queues.get(name);
    if (!queue) throw queueDoesNotExist();
    return queue;
  };

  /** Validates a RedrivePolicy against the queues that exist (target exists, its RedriveAllowPolicy permits). */
  const assertRedriveTarget = (sourceName: string, attributes: Record<string, string>) => {
    const raw = attributes.RedrivePolicy;
    if (!raw) return;
    const { deadLetterTargetArn } = JSON.parse(raw) as { deadLetterTargetArn: string };
    const target = queueByArn(deadLetterTargetArn);
    if (!target)
      throw new SqsApiError(
        'InvalidParameterValue',
        `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.`,
      );
    if (!redriveAllowed(target.attributes.RedriveAllowPolicy, queueArn(sourceName)))
      throw new SqsApiError(
        'InvalidParameterValue',
        `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Queue ${queueArn(sourceName)} is not allowed to use the dead-letter queue.`,
      );
  };

  const createQueue = (name: string, rawAttributes: Record<string, string>): Queue => {
    if (!QUEUE_NAME.test(name)) {
      throw invalidParameter(
        'QueueName',
        name,
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.',
      );
    }
    const attributes = normaliseQueueAttributes(rawAttributes);
    const existing = queues.get(name);
    if (existing) {
      for (const [attribute, value] of Object.entries(attributes)) {
        const current = existing.attributes[attribute] ?? '';
        if (current !== value)
          throw new SqsApiError(
            'QueueNameExists',
            `A queue already exists with the same name and a different value for attribute ${attribute}`,
          );
      }
      return existing;
    }
    assertRedriveTarget(name, attributes);
    const queue = new Queue({ name, arn: queueArn(name), createdAt: clock(), attributes });
    queues.set(name, queue);
    return queue;
  };

  // ---------------------------------------------------------------- messages

  interface ParsedSend {
    body: string;
    attributes: Record<string, StoredAttributeValue>;
    systemAttributes: Record<string, StoredAttributeValue>;
    delaySeconds: number;
  }

  /** Validates one message of SendMessage / SendMessageBatch (everything but the size limit). */
  const parseSend = (input: JsonObject, queue: Queue): ParsedSend => {
    const body = optionalString(input, 'MessageBody');
    if (body === undefined) throw missingParameter('MessageBody');
    const delay = optionalInteger(input, 'DelaySeconds');
    if (delay !== undefined && (delay < 0 || delay > MAX_DELAY_SECONDS))
      throw invalidParameter(
        'DelaySeconds',
        delay,
        `Must be between 0 and ${MAX_DELAY_SECONDS}, if provided.`,
      );
    if (optionalString(input, 'MessageDeduplicationId') !== undefined)
      throw invalidParameter(
        'MessageDeduplicationId',
        input.MessageDeduplicationId,
        'The request include parameter that is not valid for this queue type',
      );
    // MessageGroupId is accepted on standard queues (fair queues) and has no effect on delivery here.
    optionalString(input, 'MessageGroupId');
    assertValidBody(body);
    const attributes = parseMessageAttributes(input.MessageAttributes, 'MessageAttributes');
    const systemAttributes = parseMessageAttributes(input.MessageSystemAttributes, 'MessageSystemAttributes');
    return { body, attributes, systemAttributes, delaySeconds: delay ?? queue.seconds('DelaySeconds') };
  };

  const enqueue = (queue: Queue, parsed: ParsedSend, senderId: string) => {
    const t = clock();
    const message: StoredMessage = {
      id: randomUUID(),
      body: parsed.body,
      md5OfBody: md5OfBody(parsed.body),
      attributes: parsed.attributes,
      systemAttributes: parsed.systemAttributes,
      senderId,
      sentTimestamp: t,
      availableAt: t + parsed.delaySeconds * 1000,
      receiveCount: 0,
    };
    queue.add(message);
    const result: Record<string, string> = { MessageId: message.id, MD5OfMessageBody: message.md5OfBody };
    const md5Attributes = md5OfMessageAttributes(message.attributes);
    if (md5Attributes) result.MD5OfMessageAttributes = md5Attributes;
    const md5System = md5OfMessageAttributes(message.systemAttributes);
    if (md5System) result.MD5OfMessageSystemAttributes = md5System;
    return result;
  };

  /** Moves a message that exhausted its receives to the dead-letter queue (same id, receive count 0). */
  const moveToDeadLetterQueue = (source: Queue, message: StoredMessage, target: Queue, t: number) => {
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
    notify(target);
  };

  /**
   * One receive attempt without waiting: pending duplicates first, then visible messages oldest first,
   * moving those that exhausted maxReceiveCount to the dead-letter queue.
   */
  const receiveNow = (queue: Queue, max: number, visibilityTimeout: number): ReceivedCopy[] => {
    const t = clock();
    queue.expire(t);
    const received: ReceivedCopy[] = [];
    const policy = queue.redrivePolicy;
    const deadLetterQueue = policy ? queueByArn(policy.deadLetterTargetArn) : undefined;
    const exhausted = (message: StoredMessage) =>
      policy !== undefined && deadLetterQueue !== undefined && message.receiveCount >= policy.maxReceiveCount;

    while (queue.pendingDuplicates.length > 0 && received.length < max) {
      const id = queue.pendingDuplicates.shift() as string;
      const message = queue.messages.get(id);
      if (!message || exhausted(message)) continue;
      received.push({ message, receiptHandle: queue.markReceived(message, visibilityTimeout, t) });
    }
    for (const message of queue.messages.values()) {
      if (received.length >= max) break;
      if (queue.stateOf(message, t) !== 'visible') continue;
      if (exhausted(message) && deadLetterQueue) {
        moveToDeadLetterQueue(queue, message, deadLetterQueue, t);
        continue;
      }
      received.push({ message, receiptHandle: queue.markReceived(message, visibilityTimeout, t) });
      if (duplicateDeliveryRate > 0 && random() < duplicateDeliveryRate && !exhausted(message)) {
        if (received.length < max)
          received.push({ message, receiptHandle: queue.markReceived(message, visibilityTimeout, t) });
        else queue.pendingDuplicates.push(message.id);
      }
    }
    return received;
  };

  const systemAttributeValues = (message: StoredMessage): Record<string, string> => {
    const values: Record<string, string> = {
      SenderId: message.senderId,
      SentTimestamp: String(message.sentTimestamp),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
    };
    const trace = message.systemAttributes.AWSTraceHeader?.StringValue;
    if (trace !== undefined) values.AWSTraceHeader = trace;
    if (message.deadLetterQueueSourceArn) values.DeadLetterQueueSourceArn = message.deadLetterQueueSourceArn;
    return values;
  };

  const renderMessage = (
    copy: ReceivedCopy,
    systemNames: ReadonlySet<string>,
    attributeSelectors: readonly string[],
    receiveCountAtDelivery: number,
  ) => {
    const { message } = copy;
    const out: Record<string, unknown> = {
      MessageId: message.id,
      ReceiptHandle: copy.receiptHandle,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
    };
    if (systemNames.size > 0) {
      const all = systemAttributeValues(message);
      all.ApproximateReceiveCount = String(receiveCountAtDelivery);
      const selected: Record<string, string> = {};
      for (const [name, value] of Object.entries(all))
        if (systemNames.has('All') || systemNames.has(name)) selected[name] = value;
      if (Object.keys(selected).length > 0) out.Attributes = selected;
    }
    const chosen: Record<string, StoredAttributeValue> = {};
    for (const [name, value] of Object.entries(message.attributes))
      if (attributeSelected(name, attributeSelectors)) chosen[name] = value;
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
  };

  // ---------------------------------------------------------------- receipt handles

  const messageForHandle = (queue: Queue, handle: string): StoredMessage | undefined => {
    const decoded = decodeReceiptHandle(handle);
    if (!decoded || decoded.queueName !== queue.name)
      throw new SqsApiError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
      );
    return queue.messages.get(decoded.messageId);
  };

  const deleteByHandle = (queue: Queue, handle: string) => {
    const message = messageForHandle(queue, handle);
    if (message) queue.messages.delete(message.id);
  };

  const changeVisibility = (queue: Queue, handle: string, timeout: number) => {
    if (timeout < 0 || timeout > MAX_VISIBILITY_TIMEOUT)
      throw invalidParameter(
        'VisibilityTimeout',
        timeout,
        `Must be between 0 and ${MAX_VISIBILITY_TIMEOUT}, if provided.`,
      );
    const message = messageForHandle(queue, handle);
    const t = clock();
    if (!message)
      throw invalidParameter(
        'ReceiptHandle',
        handle,
        'Message does not exist or is not available for visibility timeout change.',
      );
    if (message.receiptHandle !== handle)
      throw new SqsApiError('ReceiptHandleIsInvalid', 'The receipt handle has expired.');
    if (queue.stateOf(message, t) !== 'inflight')
      throw new SqsApiError('MessageNotInflight', 'The message referred to is not in flight.');
    const receivedAt = message.lastReceivedAt ?? t;
    if (t + timeout * 1000 > receivedAt + MAX_VISIBILITY_TIMEOUT * 1000)
      throw invalidParameter(
        'VisibilityTimeout',
        timeout,
        `Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_TIMEOUT} seconds]`,
      );
    message.inflightUntil = t + timeout * 1000;
    if (timeout === 0) notify(queue);
  };

  // ---------------------------------------------------------------- batches

  const batchEntries = (input: JsonObject): JsonObject[] => {
    const entries = optionalObjectList(input, 'Entries') ?? [];
    if (entries.length === 0)
      throw new SqsApiError('EmptyBatchRequest', 'There should be at least one batch entry in the request.');
    if (entries.length > MAX_BATCH_ENTRIES)
      throw new SqsApiError(
        'TooManyEntriesInBatchRequest',
        `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
      );
    const seen = new Set<string>();
    for (const entry of entries) {
      const id = requiredString(entry, 'Id');
      if (!BATCH_ENTRY_ID.test(id))
        throw new SqsApiError(
          'InvalidBatchEntryId',
          'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
        );
      if (seen.has(id)) throw new SqsApiError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
      seen.add(id);
    }
    return entries;
  };

  /** Runs `fn` per entry; SQS errors become failed entries, protocol (type) errors fail the whole request. */
  const perEntry = <T>(entries: JsonObject[], fn: (entry: JsonObject) => T) => {
    const Successful: Array<T & { Id: string }> = [];
    const Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
    for (const entry of entries) {
      const Id = entry.Id as string;
      try {
        Successful.push({ Id, ...fn(entry) });
      } catch (error) {
        if (!(error instanceof SqsApiError) || error.code === 'SerializationException') throw error;
        Failed.push({ Id, SenderFault: error.senderFault, Code: error.entryCode, Message: error.message });
      }
    }
    return { Successful, Failed };
  };

  // ---------------------------------------------------------------- actions

  const actions: Record<string, Action> = {
    CreateQueue: (input, { origin }) => {
      const name = requiredString(input, 'QueueName');
      const queue = createQueue(name, optionalStringMap(input, 'Attributes') ?? {});
      Object.assign(queue.tags, optionalStringMap(input, 'tags') ?? {});
      return { QueueUrl: queueUrl(origin, queue.name) };
    },

    GetQueueUrl: (input, { origin }) => {
      const name = requiredString(input, 'QueueName');
      const owner = optionalString(input, 'QueueOwnerAWSAccountId');
      const queue = queues.get(name);
      if (!queue || (owner !== undefined && owner !== accountId)) throw queueDoesNotExist();
      return { QueueUrl: queueUrl(origin, queue.name) };
    },

    ListQueues: (input, { origin }) => {
      const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
      const names = [...queues.keys()].filter((name) => name.startsWith(prefix)).sort();
      return paginate(input, names, (page, NextToken) => ({
        ...(page.length > 0 ? { QueueUrls: page.map((name) => queueUrl(origin, name)) } : {}),
        ...(NextToken ? { NextToken } : {}),
      }));
    },

    ListDeadLetterSourceQueues: (input, { origin }) => {
      const target = resolveQueue(input);
      const names = [...queues.values()]
        .filter((queue) => queue.redrivePolicy?.deadLetterTargetArn === target.arn)
        .map((queue) => queue.name)
        .sort();
      return paginate(input, names, (page, NextToken) => ({
        queueUrls: page.map((name) => queueUrl(origin, name)),
        ...(NextToken ? { NextToken } : {}),
      }));
    },

    GetQueueAttributes: (input) => {
      const queue = resolveQueue(input);
      const requested = optionalStringList(input, 'AttributeNames') ?? [];
      const all = queueAttributeValues(queue);
      const Attributes: Record<string, string> = {};
      for (const name of requested) {
        if (name === 'All') {
          Object.assign(Attributes, all);
          continue;
        }
        if (!SETTABLE_ATTRIBUTES.has(name) && !(READ_ONLY_ATTRIBUTES as readonly string[]).includes(name))
          throw new SqsApiError('InvalidAttributeName', `Unknown Attribute ${name}.`);
        const value = all[name];
        if (value !== undefined) Attributes[name] = value;
      }
      return Object.keys(Attributes).length > 0 ? { Attributes } : {};
    },

    SetQueueAttributes: (input) => {
      const queue = resolveQueue(input);
      const raw = optionalStringMap(input, 'Attributes');
      if (raw === undefined) throw missingParameter('Attributes');
      const attributes = normaliseQueueAttributes(raw);
      assertRedriveTarget(queue.name, attributes);
      queue.applyAttributes(attributes);
      queue.lastModifiedAt = clock();
      return {};
    },

    DeleteQueue: (input) => {
      const queue = resolveQueue(input);
      queues.delete(queue.name);
      queue.purge();
      queue.wake();
      return {};
    },

    PurgeQueue: (input) => {
      resolveQueue(input).purge();
      return {};
    },

    TagQueue: (input) => {
      const queue = resolveQueue(input);
      Object.assign(queue.tags, optionalStringMap(input, 'Tags') ?? {});
      return {};
    },

    UntagQueue: (input) => {
      const queue = resolveQueue(input);
      for (const key of optionalStringList(input, 'TagKeys') ?? []) delete queue.tags[key];
      return {};
    },

    ListQueueTags: (input) => {
      const queue = resolveQueue(input);
      return Object.keys(queue.tags).length > 0 ? { Tags: { ...queue.tags } } : {};
    },

    SendMessage: (input, { senderId }) => {
      const queue = resolveQueue(input);
      const parsed = parseSend(input, queue);
      const limit = queue.maximumMessageSize;
      if (messageSize(parsed.body, parsed.attributes) > limit) throw messageTooLong(limit);
      const result = enqueue(queue, parsed, senderId);
      notify(queue);
      return result;
    },

    SendMessageBatch: (input, { senderId }) => {
      const queue = resolveQueue(input);
      const entries = batchEntries(input);
      const limit = queue.maximumMessageSize;
      const parsed = new Map<JsonObject, ParsedSend>();
      const errors = new Map<JsonObject, SqsApiError>();
      let total = 0;
      for (const entry of entries) {
        try {
          const message = parseSend(entry, queue);
          const size = messageSize(message.body, message.attributes);
          total += size;
          if (size > limit) throw messageTooLong(limit);
          parsed.set(entry, message);
        } catch (error) {
          if (!(error instanceof SqsApiError) || error.code === 'SerializationException') throw error;
          errors.set(entry, error);
        }
      }
      if (total > limit)
        throw new SqsApiError(
          'BatchRequestTooLong',
          `Batch requested message too long. Max allowed size: ${limit} bytes.`,
        );
      const result = perEntry(entries, (entry) => {
        const failure = errors.get(entry);
        if (failure) throw failure;
        return enqueue(queue, parsed.get(entry) as ParsedSend, senderId);
      });
      if (result.Successful.length > 0) notify(queue);
      return result;
    },

    ReceiveMessage: async (input) => {
      const queue = resolveQueue(input);
      const max = optionalInteger(input, 'MaxNumberOfMessages') ?? 1;
      if (max < 1 || max > MAX_BATCH_ENTRIES)
        throw invalidParameter('MaxNumberOfMessages', max, 'Must be between 1 and 10, if provided.');
      const wait =
        optionalInteger(input, 'WaitTimeSeconds') ?? queue.seconds('ReceiveMessageWaitTimeSeconds');
      if (wait < 0 || wait > MAX_WAIT_SECONDS)
        throw invalidParameter('WaitTimeSeconds', wait, 'Must be >= 0 and <= 20, if provided.');
      const visibility = optionalInteger(input, 'VisibilityTimeout') ?? queue.seconds('VisibilityTimeout');
      if (visibility < 0 || visibility > MAX_VISIBILITY_TIMEOUT)
        throw invalidParameter('VisibilityTimeout', visibility, 'Must be between 0 and 43200, if provided.');
      const systemNames = new Set([
        ...(optionalStringList(input, 'AttributeNames') ?? []),
        ...(optionalStringList(input, 'MessageSystemAttributeNames') ?? []),
      ]);
      for (const name of systemNames) {
        // The legacy AttributeNames member is typed as queue attribute names; those are accepted and ignored.
        if (!MESSAGE_SYSTEM_ATTRIBUTES.has(name) && !SETTABLE_ATTRIBUTES.has(name) && !isReadOnly(name))
          throw new SqsApiError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      }
      const selectors = optionalStringList(input, 'MessageAttributeNames') ?? [];

      const deadline = performance.now() + wait * 1000;
      let received = receiveNow(queue, max, visibility);
      while (received.length === 0 && queues.get(queue.name) === queue) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        const untilVisible = queue.nextVisibleIn(clock()) ?? Number.POSITIVE_INFINITY;
        await queue.waitForMessages(Math.min(remaining, untilVisible, LONG_POLL_TICK_MS));
        if (queues.get(queue.name) !== queue) break;
        received = receiveNow(queue, max, visibility);
      }
      if (received.length === 0) return {};
      // A message delivered twice in one response shows the receive count of each delivery.
      const counts = new Map<string, number>();
      const deliveries = received.map((copy) => {
        const seen = counts.get(copy.message.id) ?? 0;
        counts.set(copy.message.id, seen + 1);
        return { copy, seen };
      });
      const Messages = deliveries.map(({ copy, seen }) => {
        const later = (counts.get(copy.message.id) ?? 1) - seen - 1;
        return renderMessage(copy, systemNames, selectors, copy.message.receiveCount - later);
      });
      return { Messages };
    },

    DeleteMessage: (input) => {
      const queue = resolveQueue(input);
      deleteByHandle(queue, requiredString(input, 'ReceiptHandle'));
      return {};
    },

    DeleteMessageBatch: (input) => {
      const queue = resolveQueue(input);
      return perEntry(batchEntries(input), (entry) => {
        deleteByHandle(queue, requiredString(entry, 'ReceiptHandle'));
        return {};
      });
    },

    ChangeMessageVisibility: (input) => {
      const queue = resolveQueue(input);
      const handle = requiredString(input, 'ReceiptHandle');
      const timeout = optionalInteger(input, 'VisibilityTimeout');
      if (timeout === undefined) throw missingParameter('VisibilityTimeout');
      changeVisibility(queue, handle, timeout);
      return {};
    },

    ChangeMessageVisibilityBatch: (input) => {
      const queue = resolveQueue(input);
      return perEntry(batchEntries(input), (entry) => {
        const handle = requiredString(entry, 'ReceiptHandle');
        const timeout = optionalInteger(entry, 'VisibilityTimeout');
        if (timeout === undefined) throw missingParameter('VisibilityTimeout');
        changeVisibility(queue, handle, timeout);
        return {};
      });
    },
  };

  const queueAttributeValues = (queue: Queue): Record<string, string> => {
    const counts = queue.counts(clock());
    return {
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.notVisible),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModifiedAt / 1000)),
      ...queue.attributes,
    };
  };

  // ---------------------------------------------------------------- HTTP

  const handle: EmulatorHandler = async (request) => {
    const requestId = randomUUID();
    try {
      const target = headerValue(request, 'x-amz-target') ?? '';
      const actionName = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
      const action = actionName === undefined ? undefined : actions[actionName];
      if (!action)
        throw new SqsApiError(
          'UnsupportedOperation',
          `Unsupported operation: ${target || '(no x-amz-target)'}.`,
        );
      const input = parseBody(request.body);
      const result = await action(input, {
        origin: requestOrigin(request),
        senderId: senderIdOf(request, accountId),
      });
      return json(200, result, requestId);
    } catch (error) {
      const apiError =
        error instanceof SqsApiError
          ? error
          : new SqsApiError('InternalError', 'We encountered an internal error. Please try again.', {
              cause: error,
            });
      const parts = errorResponseParts(apiError);
      return {
        status: parts.status,
        headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId, ...parts.headers },
        body: parts.body,
      };
    }
  };

  return {
    handle,

    createQueue(name, attributes = {}) {
      const queue = createQueue(name, attributes);
      return { arn: queue.arn, url: (endpointBase: string) => queueUrl(endpointBase, queue.name) };
    },

    queueArn,

    stats() {
      const t = clock();
      return [...queues.values()].map((queue) => ({ name: queue.name, ...queue.counts(t) }));
    },

    setFaults(faults) {
      const rate = faults.duplicateDeliveryRate ?? 0;
      if (!Number.isFinite(rate) || rate < 0 || rate > 1)
        throw new SqsEmulatorError(`duplicateDeliveryRate must be between 0 and 1, got ${rate}`);
      duplicateDeliveryRate = rate;
    },

    reset() {
      for (const queue of queues.values()) queue.purge();
    },

    onSend(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

// -------------------------------------------------------------------- helpers

function isReadOnly(name: string): boolean {
  return (READ_ONLY_ATTRIBUTES as readonly string[]).includes(name);
}

/** `All`, `.*`, a name, or `prefix.*` (names starting with `prefix.`). */
function attributeSelected(name: string, selectors: readonly string[]): boolean {
  return selectors.some((selector) => {
    if (selector === 'All' || selector === '.*') return true;
    if (selector.endsWith('.*')) return name.startsWith(selector.slice(0, -1));
    return selector === name;
  });
}

function paginate(
  input: JsonObject,
  names: string[],
  render: (page: string[], nextToken: string | undefined) => ActionResult,
): ActionResult {
  const maxResults = optionalInteger(input, 'MaxResults');
  const token = optionalString(input, 'NextToken');
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 1000))
    throw invalidParameter('MaxResults', maxResults, 'Must be between 1 and 1000.');
  let start = 0;
  if (token !== undefined) {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0)
      throw invalidParameter('NextToken', token, 'Invalid token.');
    start = decoded;
  }
  if (maxResults === undefined) return render(names.slice(start, start + 1000), undefined);
  const end = start + maxResults;
  const next = end < names.length ? Buffer.from(String(end), 'utf8').toString('base64url') : undefined;
  return render(names.slice(start, end), next);
}

function headerValue(request: EmulatorRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function requestOrigin(request: EmulatorRequest): string {
  const scheme = headerValue(request, 'x-forwarded-proto') ?? 'http';
  const host = headerValue(request, 'host') ?? 'localhost';
  return `${scheme}://${host}`;
}

/** SenderId: the access key id from the SigV4 Authorization header (the caller's identity), else the account. */
function senderIdOf(request: EmulatorRequest, accountId: string): string {
  const authorization = headerValue(request, 'authorization') ?? '';
  const match = /Credential=([^/,\s]+)\//.exec(authorization);
  return match?.[1] ?? accountId;
}

/** Parses the JSON body; anything but a JSON object is a `SerializationException`. An empty body is `{}`. */
function parseBody(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SqsApiError('SerializationException', 'The request body is not valid JSON.', { cause: error });
  }
  if (!isJsonObject(parsed))
    throw new SqsApiError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

function json(status: number, body: ActionResult, requestId: string): EmulatorResponse {
  return {
    status,
    headers: { ...JSON_HEADERS, 'x-amzn-requestid': requestId },
    body: JSON.stringify(body),
  };
}
