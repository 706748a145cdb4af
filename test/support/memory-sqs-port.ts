/**
 * An in-memory `SqsPort` for unit tests of the redrive and the DLQ tools: visibility timeouts on an
 * injectable clock, receive counts, and receipt handles that change on every receive (a stale handle
 * is refused, as SQS refuses it). It is not an SQS emulator (`sandbox/sqs/` is): no long polling,
 * no FIFO, no size limits.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { now as clockNow } from '#lib/clock.ts';
import type { ReceivedMessage, ReceiveOptions, SqsPort } from '#lib/redrive/sqs-port.ts';
import type { OutgoingMessage } from '#lib/retry/dlq-message.ts';
import { MAX_MESSAGE_ATTRIBUTES } from '#lib/retry/failure-record.ts';

interface StoredMessage {
  messageId: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  sentAt: number;
  receiveCount: number;
  /** Epoch ms; the message is visible from then on. */
  visibleAt: number;
  receiptHandle?: string;
  /** As SQS's DeadLetterQueueSourceArn: the queue a redrive policy moved the message from. */
  sourceQueueArn?: string;
}

class InMemorySqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'InMemorySqsError';
  }
}

export interface InMemorySqsPort extends SqsPort {
  /** Every message of a queue, visible or not, in send order. */
  messages(queueUrl: string): StoredMessage[];
  /**
   * Adds a message as if an upstream had sent it, or SQS's own redrive policy had moved it from
   * `sourceQueueArn`.
   */
  put(queueUrl: string, message: OutgoingMessage, sourceQueueArn?: string): StoredMessage;
  /** Visible messages now. */
  approximateCount(queueUrl: string): Promise<number>;
}

export function createInMemorySqsPort(clock: () => number = clockNow): InMemorySqsPort {
  const queues = new Map<string, StoredMessage[]>();
  let sequence = 0;
  const queue = (url: string) => {
    let q = queues.get(url);
    if (!q) {
      q = [];
      queues.set(url, q);
    }
    return q;
  };
  const inFlight = (url: string, receiptHandle: string) => {
    const found = queue(url).find((m) => m.receiptHandle === receiptHandle);
    if (!found || found.visibleAt <= clock()) {
      throw new InMemorySqsError(
        'ReceiptHandleIsInvalid',
        `receipt handle is not in flight: ${receiptHandle}`,
      );
    }
    return found;
  };
  const put = (url: string, message: OutgoingMessage, sourceQueueArn?: string): StoredMessage => {
    if (Object.keys(message.MessageAttributes).length > MAX_MESSAGE_ATTRIBUTES) {
      throw new InMemorySqsError('InvalidParameterValue', 'more than 10 message attributes');
    }
    sequence += 1;
    const stored: StoredMessage = {
      messageId: `msg-${sequence}`,
      body: message.MessageBody,
      attributes: structuredClone(message.MessageAttributes),
      sentAt: clock(),
      receiveCount: 0,
      visibleAt: clock(),
      ...(sourceQueueArn ? { sourceQueueArn } : {}),
    };
    queue(url).push(stored);
    return stored;
  };
  return {
    messages: (url) => [...queue(url)],
    put,
    async receive(url: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
      const t = clock();
      const visible = queue(url)
        .filter((m) => m.visibleAt <= t)
        .slice(0, options.maxMessages);
      return visible.map((m) => {
        sequence += 1;
        m.receiveCount += 1;
        m.visibleAt = t + options.visibilityTimeoutSeconds * 1000;
        m.receiptHandle = `rh-${m.messageId}-${sequence}`;
        return {
          messageId: m.messageId,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes: structuredClone(m.attributes),
          receiveCount: m.receiveCount,
          sentAt: m.sentAt,
          ...(m.sourceQueueArn ? { sourceQueueArn: m.sourceQueueArn } : {}),
        };
      });
    },
    async send(url, message) {
      return { messageId: put(url, message).messageId };
    },
    async delete(url, receiptHandle) {
      const q = queue(url);
      const index = q.findIndex((m) => m.receiptHandle === receiptHandle);
      if (index < 0)
        throw new InMemorySqsError('ReceiptHandleIsInvalid', `unknown receipt handle: ${receiptHandle}`);
      q.splice(index, 1);
    },
    async changeVisibility(url, receiptHandle, seconds) {
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
        throw new InMemorySqsError('InvalidParameterValue', `visibility timeout out of range: ${seconds}`);
      }
      inFlight(url, receiptHandle).visibleAt = clock() + seconds * 1000;
    },
    async approximateCount(url) {
      const t = clock();
      return queue(url).filter((m) => m.visibleAt <= t).length;
    },
  };
}
