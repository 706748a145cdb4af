import { randomUUID } from 'node:crypto';
import { batchEntries, isEntryError, perEntry } from './batch.ts';
import { invalidParameter, missingParameter, SqsApiError } from './errors.ts';
import { md5OfBody, md5OfMessageAttributes, type StoredAttributeValue } from './md5.ts';
import { assertValidBody, messageSize, messageTooLong, parseMessageAttributes } from './message-input.ts';
import type { Queue, StoredMessage } from './queue.ts';
import { type Action, notify, resolveQueue, type SqsState } from './state.ts';
import { type JsonObject, optionalInteger, optionalString } from './wire.ts';

/** SendMessage and SendMessageBatch. */

const MAX_DELAY_SECONDS = 900;

interface ParsedSend {
  body: string;
  attributes: Record<string, StoredAttributeValue>;
  systemAttributes: Record<string, StoredAttributeValue>;
  delaySeconds: number;
}

/** Validates one message of SendMessage / SendMessageBatch (everything but the size limit). */
function parseSend(input: JsonObject, queue: Queue): ParsedSend {
  const body = optionalString(input, 'MessageBody');
  if (body === undefined) throw missingParameter('MessageBody');
  const delay = optionalInteger(input, 'DelaySeconds');
  if (delay !== undefined && (delay < 0 || delay > MAX_DELAY_SECONDS))
    throw invalidParameter('DelaySeconds', delay, `Must be between 0 and ${MAX_DELAY_SECONDS}, if provided.`);
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
}

/** Stores a parsed message and returns its send result (id and digests). */
function enqueue(state: SqsState, queue: Queue, parsed: ParsedSend, senderId: string) {
  const t = state.clock();
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
}

export const sendMessage: Action = (state, input, { senderId }) =>
  sendTo(state, resolveQueue(state, input), input, senderId);

/** SendMessage's work once the queue is known (also how an EventBridge rule's target is sent to). */
export function sendTo(state: SqsState, queue: Queue, input: JsonObject, senderId: string) {
  const parsed = parseSend(input, queue);
  const limit = queue.maximumMessageSize;
  if (messageSize(parsed.body, parsed.attributes) > limit) throw messageTooLong(limit);
  const result = enqueue(state, queue, parsed, senderId);
  notify(state, queue);
  return result;
}

/** Parses every entry first: the batch's total size is checked before anything is sent. */
export const sendMessageBatch: Action = (state, input, { senderId }) => {
  const queue = resolveQueue(state, input);
  const entries = batchEntries(input);
  const limit = queue.maximumMessageSize;
  const parsed = new Map<JsonObject, ParsedSend | SqsApiError>();
  let total = 0;
  for (const entry of entries) {
    try {
      const message = parseSend(entry, queue);
      const size = messageSize(message.body, message.attributes);
      total += size;
      if (size > limit) throw messageTooLong(limit);
      parsed.set(entry, message);
    } catch (error) {
      if (!isEntryError(error)) throw error;
      parsed.set(entry, error);
    }
  }
  if (total > limit)
    throw new SqsApiError(
      'BatchRequestTooLong',
      `Batch requested message too long. Max allowed size: ${limit} bytes.`,
    );
  const result = perEntry(entries, (entry) => {
    const message = parsed.get(entry) as ParsedSend | SqsApiError;
    if (message instanceof SqsApiError) throw message;
    return enqueue(state, queue, message, senderId);
  });
  if (result.Successful.length > 0) notify(state, queue);
  return result;
};
