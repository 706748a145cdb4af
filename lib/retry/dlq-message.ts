/**
 * The DLQ record (format: `failure-record.ts`): building it when a message is parked, reading it back
 * in the redrive and the CLI, unwrapping it in the ingest handler, and turning it into a replay.
 *
 * Three attribute shapes meet here: Lambda's SQS record (`{dataType, stringValue, binaryValue: base64}`),
 * the SDK's `MessageAttributeValue` (`BinaryValue: Uint8Array`) and the wrapper's JSON form
 * (`SqsAttributeValue`, base64). Everything converts through the JSON form, so binary values survive
 * byte-for-byte whichever way a message travels.
 */

import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import type { LambdaMessageAttributes } from '#lib/envelope/parse.ts';
import { cutMessage } from './classify.ts';
import { DlqRecordError } from './errors.ts';
import {
  describeIssues,
  FAILURE_ATTRIBUTE,
  type FailureRecord,
  failureRecordSchema,
  type InPlaceCounts,
  MAX_MESSAGE_ATTRIBUTES,
  type SqsAttributeValue,
  WRAPPED_MARKER,
  type WrappedMessage,
  wrappedMessageSchema,
} from './failure-record.ts';

/** What went wrong, as the ingest handler knows it when it parks a message. */
export type FailureInput = Pick<
  FailureRecord,
  'class' | 'code' | 'message' | 'source' | 'ruleId' | 'eventId' | 'clientToken' | 'lane'
>;

export interface BuildDlqMessageInput {
  /** The original body, exactly as received. */
  body: string;
  /** The original message attributes (a `cti.failure` among them is replaced). */
  attributes: LambdaMessageAttributes;
  /** The SQS message id of this delivery. */
  messageId: string;
  /** The record the message carried when it arrived (a replay), if any. */
  previous?: FailureRecord;
  failure: FailureInput;
  /** Epoch milliseconds (`now()`). */
  now: number;
  /** OVER_QUOTA: when the redrive may replay it. */
  nextAttemptAt?: Date;
}

/** SendMessage parameters without the queue URL. */
export interface OutgoingMessage {
  MessageBody: string;
  MessageAttributes: Record<string, MessageAttributeValue>;
}

export interface ReadDlqMessage {
  /** The original body (unwrapped). */
  body: string;
  /** The original attributes, without `cti.failure` (unwrapped). */
  attributes: Record<string, MessageAttributeValue>;
  failure?: FailureRecord;
  /** Set when the message cannot be handled automatically (missing/corrupt record or wrapper). */
  problem?: string;
}

export interface UnwrappedIngestRecord {
  body: string;
  attributes: LambdaMessageAttributes;
  failure?: FailureRecord;
  /** Set when a `cti.failure` attribute was present but unreadable (the message is processed as new). */
  problem?: string;
}

// ---------------------------------------------------------------------------------------------------
// Attribute shape conversions

export function fromLambdaAttribute(attribute: SQSMessageAttribute): SqsAttributeValue {
  const out: SqsAttributeValue = { DataType: attribute.dataType };
  if (attribute.stringValue !== undefined) out.StringValue = attribute.stringValue;
  if (attribute.binaryValue !== undefined) out.BinaryValue = attribute.binaryValue;
  return out;
}

export function toLambdaAttribute(value: SqsAttributeValue): SQSMessageAttribute {
  const out: SQSMessageAttribute = { dataType: value.DataType, stringListValues: [], binaryListValues: [] };
  if (value.StringValue !== undefined) out.stringValue = value.StringValue;
  if (value.BinaryValue !== undefined) out.binaryValue = value.BinaryValue;
  return out;
}

export function fromSdkAttribute(value: MessageAttributeValue): SqsAttributeValue {
  const out: SqsAttributeValue = { DataType: value.DataType ?? 'String' };
  if (value.StringValue !== undefined) out.StringValue = value.StringValue;
  if (value.BinaryValue !== undefined) out.BinaryValue = Buffer.from(value.BinaryValue).toString('base64');
  return out;
}

export function toSdkAttribute(value: SqsAttributeValue): MessageAttributeValue {
  const out: MessageAttributeValue = { DataType: value.DataType };
  if (value.StringValue !== undefined) out.StringValue = value.StringValue;
  if (value.BinaryValue !== undefined) out.BinaryValue = Buffer.from(value.BinaryValue, 'base64');
  return out;
}

function mapAttributes<A, B>(
  attributes: Record<string, A> | undefined,
  convert: (value: A) => B,
): Record<string, B> {
  const out: Record<string, B> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (name !== FAILURE_ATTRIBUTE) out[name] = convert(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Composition

/**
 * Puts `record` beside the original body and attributes: one extra attribute when a slot is free,
 * otherwise a `WrappedMessage` body whose only attribute is the record (`wrapped: true`).
 */
function composeMessage(
  body: string,
  attributes: Record<string, SqsAttributeValue>,
  record: FailureRecord,
): OutgoingMessage {
  const originals = mapAttributes(attributes, (value) => value);
  const fits = Object.keys(originals).length + 1 <= MAX_MESSAGE_ATTRIBUTES;
  const { wrapped: _previousFlag, ...rest } = record;
  const stamped: FailureRecord = fits ? rest : { ...rest, wrapped: true };
  const failureAttribute: MessageAttributeValue = {
    DataType: 'String',
    StringValue: JSON.stringify(stamped),
  };
  if (fits) {
    return {
      MessageBody: body,
      MessageAttributes: {
        ...mapAttributes(originals, toSdkAttribute),
        [FAILURE_ATTRIBUTE]: failureAttribute,
      },
    };
  }
  const wrapper: WrappedMessage = { marker: WRAPPED_MARKER, body, attributes: originals };
  return {
    MessageBody: JSON.stringify(wrapper),
    MessageAttributes: { [FAILURE_ATTRIBUTE]: failureAttribute },
  };
}

/**
 * Builds the DLQ message for a failed delivery.
 *
 * Input: the delivery (body, attributes, message id), the record it already carried (`previous`, on a
 * replay), what went wrong, the time and (OVER_QUOTA) the next attempt time.
 * Output: SendMessage parameters for the DLQ (queue URL left to the caller).
 * Primary course: the body is kept byte-for-byte and the original attributes are kept (minus an old
 * `cti.failure`); the record counts `attempts` up from `previous`, keeps `firstFailureAt`,
 * `originalMessageId` and `redriveCount`, and stamps `eventId` (the envelope's id, else the one stamped
 * before, else the first SQS message id) so the event's identity survives the round trip, and the
 * lane the message was in (`failure.lane`, else the previous record's) so a replay goes back to it.
 * With 10 original attributes there is no slot left, and the message is wrapped.
 */
export function buildDlqMessage(input: BuildDlqMessageInput): OutgoingMessage {
  const { previous, failure } = input;
  const at = new Date(input.now).toISOString();
  const originalMessageId = previous?.originalMessageId ?? input.messageId;
  const record: FailureRecord = {
    v: 1,
    class: failure.class,
    code: failure.code,
    message: cutMessage(failure.message),
    attempts: (previous?.attempts ?? 0) + 1,
    redriveCount: previous?.redriveCount ?? 0,
    firstFailureAt: previous?.firstFailureAt ?? at,
    lastFailureAt: at,
    originalMessageId,
  };
  const source = failure.source ?? previous?.source;
  const ruleId = failure.ruleId ?? previous?.ruleId;
  const clientToken = failure.clientToken ?? previous?.clientToken;
  if (source !== undefined) record.source = source;
  if (ruleId !== undefined) record.ruleId = ruleId;
  record.eventId = failure.eventId ?? previous?.eventId ?? originalMessageId;
  if (clientToken !== undefined) record.clientToken = clientToken;
  const lane = failure.lane ?? previous?.lane;
  if (lane !== undefined) record.lane = lane;
  if (previous?.budgetFrom !== undefined) record.budgetFrom = previous.budgetFrom;
  if (previous?.transientRounds !== undefined) record.transientRounds = previous.transientRounds;
  if (input.nextAttemptAt) record.nextAttemptAt = input.nextAttemptAt.toISOString();
  return composeMessage(input.body, mapAttributes(input.attributes, fromLambdaAttribute), record);
}

/** What ingest knows when it sends a message back to its own queue as a fresh copy. */
export interface RetryCopyInput {
  /** The original body, exactly as received. */
  body: string;
  /** The original message attributes (a `cti.failure` among them is replaced). */
  attributes: LambdaMessageAttributes;
  /** The SQS message id of this delivery. */
  messageId: string;
  /** The record the message carried when it arrived (a replay or an earlier copy), if any. */
  previous?: FailureRecord;
  /** Why it goes back (class TRANSIENT; a code such as TaskNotFound or NotAttempted) and what it reached. */
  failure: FailureInput;
  /** The counts the copy carries (lib/ingest/receives.ts). */
  inPlace: InPlaceCounts;
  /** Epoch milliseconds (`now()`). */
  now: number;
}

/**
 * Builds the copy of a delivery that ingest sends back to its queue instead of letting a receive count
 * (the original is then deleted). It keeps the body byte-for-byte and the attributes, and carries the
 * record the message arrived with (a DLQ trip's counts, replay id and budget stay as they were), or a
 * new one of class TRANSIENT with 0 `attempts`, with the receive accounting in `inPlace`. The event id
 * is stamped as on a DLQ trip, so a raw event without an id keeps its identity in the copy.
 */
export function buildRetryCopy(input: RetryCopyInput): OutgoingMessage {
  const { previous, failure } = input;
  const at = new Date(input.now).toISOString();
  const originalMessageId = previous?.originalMessageId ?? input.messageId;
  const record: FailureRecord = previous
    ? { ...previous }
    : {
        v: 1,
        class: failure.class,
        code: failure.code,
        message: cutMessage(failure.message),
        attempts: 0,
        redriveCount: 0,
        firstFailureAt: at,
        lastFailureAt: at,
        originalMessageId,
      };
  record.eventId = failure.eventId ?? previous?.eventId ?? originalMessageId;
  const source = record.source ?? failure.source;
  const ruleId = record.ruleId ?? failure.ruleId;
  const clientToken = record.clientToken ?? failure.clientToken;
  const lane = record.lane ?? failure.lane;
  if (source !== undefined) record.source = source;
  if (ruleId !== undefined) record.ruleId = ruleId;
  if (clientToken !== undefined) record.clientToken = clientToken;
  if (lane !== undefined) record.lane = lane;
  record.inPlace = { ...input.inPlace };
  return composeMessage(input.body, mapAttributes(input.attributes, fromLambdaAttribute), record);
}

// ---------------------------------------------------------------------------------------------------
// Reading

type ParsedRecord = { record: FailureRecord } | { problem: string };

function parseRecord(json: string | undefined): ParsedRecord {
  if (json === undefined) return { problem: `failure attribute ${FAILURE_ATTRIBUTE} has no string value` };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { problem: `failure attribute ${FAILURE_ATTRIBUTE} is not JSON` };
  }
  const parsed = failureRecordSchema.safeParse(raw);
  if (!parsed.success) {
    return { problem: `failure record is invalid: ${describeIssues(parsed.error)}` };
  }
  return { record: parsed.data };
}

type ParsedWrapper = { wrapper: WrappedMessage } | { problem: string };

function parseWrapper(body: string): ParsedWrapper {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { problem: 'failure record says wrapped but the body is not JSON' };
  }
  const parsed = wrappedMessageSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      problem: `failure record says wrapped but the body is not a wrapped message: ${describeIssues(parsed.error)}`,
    };
  }
  return { wrapper: parsed.data };
}

/**
 * Reads a message received from the DLQ. Never throws.
 *
 * Output: the original body and attributes (unwrapped), the failure record, and `problem` when the
 * message cannot be handled automatically: no `cti.failure`, a record that is not valid JSON or not
 * the v1 format (then `failure` is undefined), or a record that says "wrapped" over a body that is not
 * a wrapper (then `failure` is set, the body and attributes are returned as stored).
 */
export function readDlqMessage(message: {
  Body?: string;
  MessageAttributes?: Record<string, MessageAttributeValue>;
}): ReadDlqMessage {
  const body = message.Body ?? '';
  const stored = message.MessageAttributes ?? {};
  const attributes = mapAttributes(stored, (value) => toSdkAttribute(fromSdkAttribute(value)));
  const failureAttribute = stored[FAILURE_ATTRIBUTE];
  if (!failureAttribute) {
    return { body, attributes, problem: `no failure record (${FAILURE_ATTRIBUTE} attribute missing)` };
  }
  const parsed = parseRecord(failureAttribute.StringValue);
  if ('problem' in parsed) return { body, attributes, problem: parsed.problem };
  if (!parsed.record.wrapped) return { body, attributes, failure: parsed.record };
  const unwrapped = parseWrapper(body);
  if ('problem' in unwrapped) return { body, attributes, failure: parsed.record, problem: unwrapped.problem };
  return {
    body: unwrapped.wrapper.body,
    attributes: mapAttributes(unwrapped.wrapper.attributes, toSdkAttribute),
    failure: parsed.record,
  };
}

/**
 * What the ingest handler calls first for each SQS record. Never throws.
 *
 * Output: the body and attributes to process (a wrapped message is unwrapped to the original ones;
 * `cti.failure` is removed) and the failure record a replayed message carries (the `previous` for
 * `buildDlqMessage` and, for raw JSON without an id, the stamped `eventId`). An unreadable record is
 * reported in `problem` and the message is processed as it is.
 */
export function unwrapIngestRecord(record: SQSRecord): UnwrappedIngestRecord {
  const attributes = mapAttributes(record.messageAttributes, (value) => value);
  const failureAttribute = record.messageAttributes?.[FAILURE_ATTRIBUTE];
  if (!failureAttribute) return { body: record.body, attributes };
  const parsed = parseRecord(failureAttribute.stringValue);
  if ('problem' in parsed) return { body: record.body, attributes, problem: parsed.problem };
  if (!parsed.record.wrapped) return { body: record.body, attributes, failure: parsed.record };
  const unwrapped = parseWrapper(record.body);
  if ('problem' in unwrapped) {
    return { body: record.body, attributes, failure: parsed.record, problem: unwrapped.problem };
  }
  return {
    body: unwrapped.wrapper.body,
    attributes: mapAttributes(unwrapped.wrapper.attributes, toLambdaAttribute),
    failure: parsed.record,
  };
}

/**
 * The same original body and attributes with another record (the redrive's EXHAUSTED rewrite).
 * Throws `DlqRecordError` when `read` has a problem (nothing unreadable is ever re-sent).
 */
export function rewriteDlqMessage(read: ReadDlqMessage, record: FailureRecord): OutgoingMessage {
  if (read.problem !== undefined) throw new DlqRecordError(`cannot rewrite: ${read.problem}`);
  return composeMessage(read.body, mapAttributes(read.attributes, fromSdkAttribute), record);
}

/**
 * SendMessage parameters that put a DLQ message back on the ingest queue.
 *
 * Input: a message read with `readDlqMessage` and the redrive count to record (normally the record's
 * `redriveCount + 1`). Output: the original body and attributes plus the failure record (so the
 * envelope keeps its identity and the ClientToken is the same), wrapped again if needed.
 * Throws `DlqRecordError` when the message has no readable record.
 */
export function toReplayMessage(
  read: ReadDlqMessage,
  opts: {
    redriveCount: number;
    /** An ops replay's id (see `FailureRecord.replayId`); absent: none is carried. */
    replayId?: string;
    /** An ops replay of an EXHAUSTED message: attempts from 0, this replay the first redrive, age from this ISO time. */
    freshBudgetAt?: string;
    /** The scheduled redrive's replay of a TRANSIENT record: one more transient round. */
    transientRound?: boolean;
  },
): OutgoingMessage {
  if (!read.failure) throw new DlqRecordError(`cannot replay: ${read.problem ?? 'no failure record'}`);
  // A replay starts a new round in place: the receive accounting of the last one does not travel.
  const { replayId: _previousReplay, inPlace: _lastRound, ...failure } = read.failure;
  const record: FailureRecord = { ...failure, redriveCount: opts.redriveCount };
  if (opts.replayId !== undefined) record.replayId = opts.replayId;
  if (opts.transientRound) record.transientRounds = (failure.transientRounds ?? 0) + 1;
  if (opts.freshBudgetAt !== undefined) {
    record.attempts = 0;
    record.redriveCount = 1;
    record.budgetFrom = opts.freshBudgetAt;
    delete record.transientRounds;
  }
  return rewriteDlqMessage(read, record);
}
