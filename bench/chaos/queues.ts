/**
 * The chaos run's SQS side: sending the mix, reading a queue back without consuming it, and its depth.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DlqRead } from '#common/chaos/reads.ts';
import { CHAOS_EVENT_ATTRIBUTE, type ChaosEvent } from '#common/chaos/scenario.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import { sendBacklog } from '../workload.ts';

/**
 * Every message of a queue, read without consuming it (visibility reset afterwards): its event's
 * tracking id and, on the DLQ, its failure record.
 */
export async function readQueue(sqs: SQSClient, queueUrl: string): Promise<DlqRead[]> {
  const out: DlqRead[] = [];
  // The latest receipt handle per message: an SQS duplicate delivery makes the earlier one stale.
  const handles = new Map<string, string>();
  for (;;) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    const messages: Message[] = received.Messages ?? [];
    if (messages.length === 0) break;
    for (const m of messages) {
      const known = handles.has(m.MessageId as string);
      handles.set(m.MessageId as string, m.ReceiptHandle as string);
      if (known) continue;
      const read = readDlqMessage(m);
      const eventId = read.attributes[CHAOS_EVENT_ATTRIBUTE]?.StringValue;
      out.push({
        ...(eventId !== undefined ? { eventId } : {}),
        ...(read.failure ? { failureClass: read.failure.class, code: read.failure.code } : {}),
        ...(read.problem !== undefined ? { problem: read.problem } : {}),
      });
    }
  }
  for (const handle of handles.values()) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }),
    );
  }
  return out;
}

/** Messages in the queue: visible, or hidden (in flight, deferred, delayed). */
export async function queueDepth(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; hidden: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    hidden:
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Sends the events as upstream does, ten to a batch, four batches at a time. */
export async function sendAll(sqs: SQSClient, queueUrl: string, sends: readonly ChaosEvent[]): Promise<void> {
  const toAttributes = (attributes: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(attributes).map(([k, v]) => [
        k,
        { DataType: 'String', StringValue: v } as MessageAttributeValue,
      ]),
    );
  await sendBacklog(
    sqs,
    queueUrl,
    sends.map((e) => ({ body: e.body, attributes: toAttributes(e.attributes) })),
    4,
  );
}
