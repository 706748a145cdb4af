/**
 * The SQS port the redrive and the DLQ tools depend on, and its adapter over the SDK v3 `SQSClient`.
 * Unit tests use the in-memory double (test/support/memory-sqs-port.ts); one contract suite runs the
 * same cases against both (test/integration/sqs-port-contract.test.ts).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { OutgoingMessage } from '#lib/retry/dlq-message.ts';
import { SqsPortError } from './errors.ts';

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body?: string;
  attributes?: Record<string, MessageAttributeValue>;
  /** ApproximateReceiveCount, when the queue reported it. */
  receiveCount?: number;
  /** SentTimestamp (epoch ms), when the queue reported it. */
  sentAt?: number;
  /** DeadLetterQueueSourceArn: the queue SQS's redrive policy moved the message from, if it did. */
  sourceQueueArn?: string;
}

export interface ReceiveOptions {
  /** 1..10. */
  maxMessages: number;
  /** How long received messages stay hidden (0..43,200). */
  visibilityTimeoutSeconds: number;
  /** 0..20; 1 or more makes SQS ask every server (short polling samples a subset). */
  waitTimeSeconds?: number;
}

export interface SqsPort {
  receive(queueUrl: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  send(queueUrl: string, message: OutgoingMessage): Promise<{ messageId: string }>;
  delete(queueUrl: string, receiptHandle: string): Promise<void>;
  changeVisibility(queueUrl: string, receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void>;
  /** ApproximateNumberOfMessages (visible), when the queue can tell; for progress display only. */
  approximateCount?(queueUrl: string): Promise<number | undefined>;
}

function toInt(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** The SDK v3 adapter. The client is built (and traced) by the caller, once per process. */
export function createSqsPort(client: SQSClient): SqsPort {
  return {
    async receive(queueUrl, options) {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.maxMessages,
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          WaitTimeSeconds: options.waitTimeSeconds ?? 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: [
            'ApproximateReceiveCount',
            'SentTimestamp',
            'DeadLetterQueueSourceArn',
          ],
        }),
      );
      return (out.Messages ?? []).map((m) => {
        if (!m.MessageId || !m.ReceiptHandle) {
          throw new SqsPortError('ReceiveMessage returned a message without MessageId or ReceiptHandle');
        }
        const received: ReceivedMessage = { messageId: m.MessageId, receiptHandle: m.ReceiptHandle };
        if (m.Body !== undefined) received.body = m.Body;
        if (m.MessageAttributes) received.attributes = m.MessageAttributes;
        const receiveCount = toInt(m.Attributes?.ApproximateReceiveCount);
        const sentAt = toInt(m.Attributes?.SentTimestamp);
        if (receiveCount !== undefined) received.receiveCount = receiveCount;
        if (sentAt !== undefined) received.sentAt = sentAt;
        const sourceQueueArn = m.Attributes?.DeadLetterQueueSourceArn;
        if (sourceQueueArn) received.sourceQueueArn = sourceQueueArn;
        return received;
      });
    },
    async send(queueUrl, message) {
      const out = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, ...message }));
      if (!out.MessageId) throw new SqsPortError('SendMessage returned no MessageId');
      return { messageId: out.MessageId };
    },
    async delete(queueUrl, receiptHandle) {
      await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
    },
    async changeVisibility(queueUrl, receiptHandle, visibilityTimeoutSeconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: visibilityTimeoutSeconds,
        }),
      );
    },
    async approximateCount(queueUrl) {
      const out = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      return toInt(out.Attributes?.ApproximateNumberOfMessages);
    },
  };
}
