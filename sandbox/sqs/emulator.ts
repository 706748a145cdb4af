import { now as clockNow } from '#lib/clock.ts';
import type { EmulatorHandler } from '#sandbox/http-types.ts';
import { queueDoesNotExist, SqsEmulatorError } from './errors.ts';
import { sqsHandler } from './http.ts';
import { sendTo } from './send.ts';
import { createQueue, createSqsState, queueArn, queueByArn, queueUrl, whenLongPolling } from './state.ts';

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
  /**
   * Account id in queue URLs and ARNs.
   * @default 000000000000
   */
  accountId?: string;
  /**
   * Region in ARNs.
   * @default us-east-1
   */
  region?: string;
  /** Business clock in epoch ms (visibility, delays, retention); default the movable `#lib/clock.ts` clock. */
  now?: () => number;
  /**
   * Random numbers in [0, 1) for fault injection.
   * @default Math.random
   */
  random?: () => number;
}

interface SqsQueueRef {
  url(endpointBase: string): string;
  arn: string;
}

interface SqsQueueStats {
  name: string;
  visible: number;
  notVisible: number;
  delayed: number;
}

interface SqsFaults {
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
  /**
   * Sends `body` to the queue with ARN `queueArn` as SendMessage would (`senderId` as the sender);
   * throws `SqsApiError` (the queue does not exist, the body is invalid or too long).
   */
  sendToArn(queueArn: string, body: string, senderId: string): void;
  /** Purges every queue's messages; queues and their attributes stay. */
  reset(): void;
  /**
   * Calls `listener(queueName)` whenever messages become available in a queue by an action (send, batch
   * send, a redrive move to a dead-letter queue, a visibility change to 0). Returns an unsubscribe function.
   */
  onSend(listener: (queueName: string) => void): () => void;
  /** Calls `listener(queueName, messages)` whenever a ReceiveMessage hands out messages. Returns an unsubscribe function. */
  onReceive(listener: (queueName: string, messages: number) => void): () => void;
  /** Resolves once at least `count` (default 1) ReceiveMessage long polls are waiting on the queue. */
  whenLongPolling(queueName: string, count?: number): Promise<void>;
}

/**
 * Builds an SQS emulator. See the module doc for semantics; each operation lives in its own function
 * (`send.ts`, `receive.ts`, `handles.ts`, `queues.ts`), dispatched by `http.ts`.
 */
export function createSqsEmulator(options: SqsEmulatorOptions = {}): SqsEmulator {
  const state = createSqsState({
    accountId: options.accountId ?? '000000000000',
    region: options.region ?? 'us-east-1',
    clock: options.now ?? clockNow,
    random: options.random ?? Math.random,
  });
  return {
    handle: sqsHandler(state),
    createQueue(name, attributes = {}) {
      const queue = createQueue(state, name, attributes);
      return { arn: queue.arn, url: (endpointBase: string) => queueUrl(state, endpointBase, queue.name) };
    },
    queueArn: (name) => queueArn(state, name),
    stats() {
      const t = state.clock();
      return [...state.queues.values()].map((queue) => ({ name: queue.name, ...queue.counts(t) }));
    },
    setFaults(faults) {
      const rate = faults.duplicateDeliveryRate ?? 0;
      if (!Number.isFinite(rate) || rate < 0 || rate > 1)
        throw new SqsEmulatorError(`duplicateDeliveryRate must be between 0 and 1, got ${rate}`);
      state.duplicateDeliveryRate = rate;
    },
    sendToArn(arn, body, senderId) {
      const queue = queueByArn(state, arn);
      if (!queue) throw queueDoesNotExist();
      sendTo(state, queue, { MessageBody: body }, senderId);
    },
    reset() {
      for (const queue of state.queues.values()) queue.purge();
    },
    onSend: (listener) => subscribe(state.sendListeners, listener),
    onReceive: (listener) => subscribe(state.receiveListeners, listener),
    whenLongPolling: (queueName, count = 1) => whenLongPolling(state, queueName, count),
  };
}

function subscribe<L>(listeners: Set<L>, listener: L): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
