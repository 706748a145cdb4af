import { batchEntries, perEntry } from './batch.ts';
import { invalidParameter, missingParameter, SqsApiError } from './errors.ts';
import { decodeReceiptHandle, type Queue, type StoredMessage } from './queue.ts';
import { MAX_VISIBILITY_TIMEOUT } from './receive.ts';
import { type Action, notify, resolveQueue, type SqsState } from './state.ts';
import { type JsonObject, optionalInteger, requiredString } from './wire.ts';

/** The operations on a received message, by receipt handle: DeleteMessage(Batch), ChangeMessageVisibility(Batch). */

/** The message a handle names (undefined once deleted); a handle that does not decode or names another queue is invalid. */
function messageForHandle(queue: Queue, handle: string): StoredMessage | undefined {
  const decoded = decodeReceiptHandle(handle);
  if (!decoded || decoded.queueName !== queue.name)
    throw new SqsApiError(
      'ReceiptHandleIsInvalid',
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
    );
  return queue.messages.get(decoded.messageId);
}

/** A stale handle still deletes, as on standard queues; an already deleted message is a success. */
function deleteByHandle(queue: Queue, entry: JsonObject): Record<string, never> {
  const message = messageForHandle(queue, requiredString(entry, 'ReceiptHandle'));
  if (message) queue.messages.delete(message.id);
  return {};
}

function changeVisibility(state: SqsState, queue: Queue, entry: JsonObject): Record<string, never> {
  const handle = requiredString(entry, 'ReceiptHandle');
  const timeout = optionalInteger(entry, 'VisibilityTimeout');
  if (timeout === undefined) throw missingParameter('VisibilityTimeout');
  if (timeout < 0 || timeout > MAX_VISIBILITY_TIMEOUT)
    throw invalidParameter(
      'VisibilityTimeout',
      timeout,
      `Must be between 0 and ${MAX_VISIBILITY_TIMEOUT}, if provided.`,
    );
  const message = messageForHandle(queue, handle);
  const t = state.clock();
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
  if (timeout === 0) notify(state, queue);
  return {};
}

export const deleteMessage: Action = (state, input) => deleteByHandle(resolveQueue(state, input), input);

export const deleteMessageBatch: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  return perEntry(batchEntries(input), (entry) => deleteByHandle(queue, entry));
};

export const changeMessageVisibility: Action = (state, input) =>
  changeVisibility(state, resolveQueue(state, input), input);

export const changeMessageVisibilityBatch: Action = (state, input) => {
  const queue = resolveQueue(state, input);
  return perEntry(batchEntries(input), (entry) => changeVisibility(state, queue, entry));
};
