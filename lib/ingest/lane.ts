/**
 * Which lane a record is processed in, and whether it has to move to another lane's queue first.
 *
 * A record's lane is the lane of the queue it arrived on (`eventSourceARN`). A create rule may name
 * a lane (`options.lane`): when that differs from the arrival lane, the message is forwarded to the
 * rule's lane queue unchanged (body and message attributes, the failure record of a replay included)
 * and the record is done; the task is started by the delivery in the rule's lane. A rule without a
 * lane keeps the arrival lane.
 *
 * Identity: a raw JSON message without an `id` attribute is known by its SQS message id, and a
 * forwarded copy gets a new one. So that every copy of such a message (SQS duplicates, a redelivery
 * after a crash between the send and the delete) keeps the same event id and so the same ClientToken,
 * the forward adds one service attribute, `cti.eventId`, with the id; the ingest reads it back like
 * the event id a DLQ trip stamps. When the message already uses every attribute slot SQS allows
 * there is no room for it: the record is then processed in its arrival lane instead (the task is
 * still created exactly once; only its priority differs), and the caller logs why.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { Envelope } from '#lib/envelope/types.ts';
import { type Lane, laneOfQueue } from '#lib/lanes.ts';
import { fromLambdaAttribute, toSdkAttribute } from '#lib/retry/dlq-message.ts';
import { MAX_MESSAGE_ATTRIBUTES } from '#lib/retry/failure-record.ts';

/** The service attribute that carries a forwarded raw message's event id (see above). */
export const EVENT_ID_ATTRIBUTE = 'cti.eventId';

/** The lane of the queue the record arrived on; a record without a source ARN is in the default lane. */
export function laneOfRecord(record: Pick<SQSRecord, 'eventSourceARN'>): Lane {
  return laneOfQueue(record.eventSourceARN);
}

/** The event id a forward stamped on the record, if any. */
export function forwardedEventId(record: Pick<SQSRecord, 'messageAttributes'>): string | undefined {
  const value = record.messageAttributes?.[EVENT_ID_ATTRIBUTE]?.stringValue;
  return value === undefined || value === '' ? undefined : value;
}

interface ForwardMessage {
  MessageBody: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
}

export type LaneDecision =
  /** Process the record here, in `lane`. */
  | { kind: 'here'; lane: Lane; reason?: string }
  /** Send `message` to the queue of lane `to`; the record is then done. */
  | { kind: 'forward'; from: Lane; to: Lane; message: ForwardMessage };

/**
 * Decides where a record is processed.
 *
 * Input: the record, its envelope, the matched rule's lane (undefined: the rule names none) and the
 * lanes whose queue the function can reach.
 * Output: `here` (the arrival lane, or the rule's lane when it is the same) or `forward` with the
 * message to send; `here` with a `reason` when the rule's lane cannot be reached or the message has
 * no attribute slot left for its event id.
 */
export function decideLane(input: {
  record: Pick<SQSRecord, 'eventSourceARN' | 'messageId' | 'body' | 'messageAttributes'>;
  envelope: Pick<Envelope, 'kind' | 'id'>;
  ruleLane: Lane | undefined;
  reachable: (lane: Lane) => boolean;
}): LaneDecision {
  const { record, envelope, ruleLane } = input;
  const arrival = laneOfRecord(record);
  if (ruleLane === undefined || ruleLane === arrival) return { kind: 'here', lane: arrival };
  if (!input.reachable(ruleLane)) {
    return { kind: 'here', lane: arrival, reason: `no queue configured for lane ${ruleLane}` };
  }
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    attributes[name] = toSdkAttribute(fromLambdaAttribute(value));
  }
  // Known only by this delivery's SQS message id: the copy must carry it.
  if (envelope.kind === 'raw' && envelope.id === record.messageId) {
    if (!(EVENT_ID_ATTRIBUTE in attributes) && Object.keys(attributes).length >= MAX_MESSAGE_ATTRIBUTES) {
      return {
        kind: 'here',
        lane: arrival,
        reason: `no message attribute slot left for ${EVENT_ID_ATTRIBUTE} (SQS allows ${MAX_MESSAGE_ATTRIBUTES})`,
      };
    }
    attributes[EVENT_ID_ATTRIBUTE] = { DataType: 'String', StringValue: envelope.id };
  }
  return {
    kind: 'forward',
    from: arrival,
    to: ruleLane,
    message: { MessageBody: record.body, MessageAttributes: attributes },
  };
}
