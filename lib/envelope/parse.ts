/**
 * Normalises one SQS record into an `Envelope` (docs/ARCHITECTURE.md, "Envelope").
 *
 * Shapes, detected from the JSON body in this order:
 * 1. CloudEvents (structured JSON mode): an object with `specversion`. `source`, `id` required,
 *    `type` and `time` optional strings, payload in `data` or `data_base64` (never both).
 * 2. EventBridge: an object with both `detail-type` and `detail`. `source`, `id` required.
 * 3. SNS notification (SNS → SQS without raw delivery): `Type: "Notification"` with string `Message`
 *    and `TopicArn`. If `Message` is JSON that is itself CloudEvents or EventBridge, that inner event
 *    is the envelope (its kind, its identity); otherwise source = TopicArn, id = MessageId,
 *    type = Subject, time = Timestamp, data = the parsed Message or, if it is not JSON, the raw string.
 *    String/Number SNS `MessageAttributes` are merged into the attributes (SQS attributes win).
 * 4. Raw JSON: anything else (any JSON value). source = the `source` message attribute,
 *    id = the `id` attribute, else the id stamped on a previous DLQ trip, else the SQS message id.
 *
 * The SNS test requires `TopicArn` and a string `Message` besides `Type`, so a business payload that
 * merely has a `Type: "Notification"` field is not mistaken for an SNS envelope.
 *
 * Error messages name the problem and never include body contents (customer data).
 */
import type { SQSMessageAttributes } from 'aws-lambda';
import * as z from 'zod/mini';
import type { Envelope } from '#lib/envelope/types.ts';
import { isObject } from '#lib/guards.ts';
import { EnvelopeError } from './errors.ts';

/** The Lambda SQS record's `messageAttributes` shape. */
export type LambdaMessageAttributes = SQSMessageAttributes;

/** Message attributes whose name starts with this prefix belong to the service (e.g. `cti.failure`). */
export const SERVICE_ATTRIBUTE_PREFIX = 'cti.';

export interface ParseEnvelopeInput {
  body: string;
  messageId: string;
  attributes: LambdaMessageAttributes;
  /** identity stamped on a previous DLQ trip (from the failure record) */
  stampedEventId?: string;
}

type JsonObject = Record<string, unknown>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function hasOwn(obj: JsonObject, key: string): boolean {
  return Object.hasOwn(obj, key);
}

/** String and Number SQS attributes, minus the service's own `cti.*` ones. Binary ones are skipped. */
function userAttributes(attributes: LambdaMessageAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(attributes)) {
    if (name.startsWith(SERVICE_ATTRIBUTE_PREFIX)) continue;
    const attr = attributes[name];
    if (attr === undefined || typeof attr.stringValue !== 'string') continue;
    if (typeof attr.dataType !== 'string') continue;
    if (attr.dataType.startsWith('String') || attr.dataType.startsWith('Number')) {
      out[name] = attr.stringValue;
    }
  }
  return out;
}

const requiredText = z.string().check(z.minLength(1));
/** An optional text field: absent or null reads as ''. */
const optionalText = z.pipe(
  z.optional(z.nullable(z.string())),
  z.transform((value) => value ?? ''),
);

/** The fields each shape reads, in the order they are checked; the identity fields first after specversion. */
const cloudEventsSchema = z.looseObject({
  specversion: requiredText,
  source: requiredText,
  id: requiredText,
  type: optionalText,
  time: optionalText,
  data_base64: z.optional(z.string().check(z.regex(BASE64))),
});
const eventBridgeSchema = z.looseObject({
  source: requiredText,
  id: requiredText,
  'detail-type': optionalText,
  time: optionalText,
});
const snsSchema = z.looseObject({
  TopicArn: requiredText,
  MessageId: requiredText,
  Subject: optionalText,
  Timestamp: optionalText,
});

/** Which code a missing identity field gets, by field name. */
const MISSING: Readonly<Record<string, 'MissingSource' | 'MissingId'>> = {
  source: 'MissingSource',
  TopicArn: 'MissingSource',
  id: 'MissingId',
  MessageId: 'MissingId',
};

/**
 * The shape's fields, or the EnvelopeError of the first problem: a missing (absent, null or empty)
 * identity field is MissingSource/MissingId, anything else InvalidEnvelope. Messages name the field
 * and the JSON type found, never a value.
 */
function parseShape<T>(schema: z.ZodMiniType<T>, obj: JsonObject, shape: string): T {
  const parsed = schema.safeParse(obj);
  if (parsed.success) return parsed.data;
  const key = String(parsed.error.issues[0]?.path[0] ?? '');
  const value = obj[key];
  const missing = MISSING[key];
  if (missing !== undefined && (value === undefined || value === null || value === '')) {
    throw new EnvelopeError(missing, `${shape} message has no "${key}"`);
  }
  if (key === 'specversion') {
    throw new EnvelopeError('InvalidEnvelope', `${shape} "specversion" must be a non-empty string`);
  }
  if (key === 'data_base64')
    throw new EnvelopeError('InvalidEnvelope', `${shape} "data_base64" is not valid base64`);
  throw new EnvelopeError('InvalidEnvelope', `${shape} "${key}" must be a string, got ${typeOf(value)}`);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isJsonContentType(contentType: string): boolean {
  const media = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media.endsWith('+json') || media === 'text/json';
}

function fromCloudEvents(obj: JsonObject, attributes: Record<string, string>): Envelope {
  const shape = 'CloudEvents';
  const hasData = hasOwn(obj, 'data');
  if (hasData && hasOwn(obj, 'data_base64')) {
    parseShape(cloudEventsSchema, obj, shape);
    throw new EnvelopeError('InvalidEnvelope', `${shape} message carries both "data" and "data_base64"`);
  }
  const { source, id, type, time, data_base64: encoded } = parseShape(cloudEventsSchema, obj, shape);
  let data: unknown = hasData ? obj.data : undefined;
  if (encoded !== undefined) {
    // Binary payloads are handed to rules as UTF-8 text; JSON content types are parsed.
    const text = Buffer.from(encoded, 'base64').toString('utf8');
    const contentType = typeof obj.datacontenttype === 'string' ? obj.datacontenttype : '';
    if (isJsonContentType(contentType)) {
      try {
        data = JSON.parse(text);
      } catch {
        // No `cause`: V8's SyntaxError message quotes the input, which is customer data.
        throw new EnvelopeError(
          'InvalidEnvelope',
          `${shape} "data_base64" has a JSON datacontenttype but is not valid JSON`,
        );
      }
    } else {
      data = text;
    }
  }
  return { source, id, type, time, data, attributes, kind: 'cloudevents' };
}

function fromEventBridge(obj: JsonObject, attributes: Record<string, string>): Envelope {
  const parsed = parseShape(eventBridgeSchema, obj, 'EventBridge');
  const { source, id, 'detail-type': type, time } = parsed;
  return { source, id, type, time, data: obj.detail, attributes, kind: 'eventbridge' };
}

function isCloudEvents(value: unknown): value is JsonObject {
  return isObject(value) && hasOwn(value, 'specversion');
}

function isEventBridge(value: unknown): value is JsonObject {
  return isObject(value) && hasOwn(value, 'detail-type') && hasOwn(value, 'detail');
}

function isSnsNotification(value: unknown): value is JsonObject {
  return (
    isObject(value) &&
    value.Type === 'Notification' &&
    typeof value.Message === 'string' &&
    typeof value.TopicArn === 'string'
  );
}

/** SNS `MessageAttributes` ({Name: {Type, Value}}) of type String or Number, minus `cti.*`. */
function snsAttributes(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const name of Object.keys(value)) {
    if (name.startsWith(SERVICE_ATTRIBUTE_PREFIX)) continue;
    const attr = value[name];
    if (!isObject(attr) || typeof attr.Value !== 'string' || typeof attr.Type !== 'string') continue;
    if (attr.Type.startsWith('String') && attr.Type !== 'String.Array') out[name] = attr.Value;
    else if (attr.Type.startsWith('Number')) out[name] = attr.Value;
  }
  return out;
}

function fromSns(obj: JsonObject, sqsAttributes: Record<string, string>): Envelope {
  const shape = 'SNS notification';
  const message = obj.Message as string;
  const attributes = { ...snsAttributes(obj.MessageAttributes), ...sqsAttributes };
  let inner: unknown;
  let innerIsJson = true;
  try {
    inner = JSON.parse(message);
  } catch {
    innerIsJson = false;
  }
  if (innerIsJson) {
    if (isCloudEvents(inner)) return fromCloudEvents(inner, attributes);
    if (isEventBridge(inner)) return fromEventBridge(inner, attributes);
  }
  const {
    TopicArn: source,
    MessageId: id,
    Subject: type,
    Timestamp: time,
  } = parseShape(snsSchema, obj, shape);
  return { source, id, type, time, data: innerIsJson ? inner : message, attributes, kind: 'sns' };
}

function fromRaw(
  data: unknown,
  attributes: Record<string, string>,
  messageId: string,
  stampedEventId: string | undefined,
): Envelope {
  const source = attributes.source;
  if (source === undefined || source === '') {
    throw new EnvelopeError(
      'MissingSource',
      'raw JSON message has no "source" message attribute (and is not CloudEvents, EventBridge or SNS)',
    );
  }
  let id = attributes.id;
  if (id === undefined || id === '') id = stampedEventId;
  if (id === undefined || id === '') id = messageId;
  if (typeof id !== 'string' || id === '') {
    throw new EnvelopeError('MissingId', 'raw JSON message has no "id" attribute and no SQS message id');
  }
  return { source, id, type: attributes.type ?? '', time: '', data, attributes, kind: 'raw' };
}

/**
 * Normalises one SQS record into an Envelope.
 *
 * Input: the record body, its SQS message id, its message attributes and, on a replay from the
 * DLQ, the event id stamped into the failure record on the first trip.
 * Output: the Envelope.
 * Primary course: parse the body as JSON, detect the shape, take identity from the shape (for raw
 * JSON: `id` attribute, stamped id, SQS message id — so identity survives DLQ round trips).
 * Errors: EnvelopeError with a code; nothing else is ever thrown.
 */
export function parseEnvelope(input: ParseEnvelopeInput): Envelope {
  const { body, messageId, stampedEventId } = input;
  if (typeof body !== 'string') {
    throw new EnvelopeError('MalformedJson', `message body must be a string, got ${typeOf(body)}`);
  }
  const attributes = userAttributes(input.attributes ?? {});
  // A non-JSON body is MalformedJson even when a `source` attribute is present. The contract with
  // upstream systems is JSON; accepting text would turn a truncated or mis-encoded JSON body into a
  // string payload that the rules would map into a task with garbage (or missing) fields. Refusing it
  // parks the message in the DLQ with a clear reason, where ops can see and replay it.
  let parsed: unknown;
  try {
    // A UTF-8 byte order mark is not JSON but some producers emit one; it carries no content.
    parsed = JSON.parse(body.charCodeAt(0) === 0xfeff ? body.slice(1) : body);
  } catch {
    // No `cause`: V8's SyntaxError message quotes the body, which is customer data.
    throw new EnvelopeError(
      'MalformedJson',
      `message body is not valid JSON (${Buffer.byteLength(body, 'utf8')} bytes)`,
    );
  }
  if (isCloudEvents(parsed)) return fromCloudEvents(parsed, attributes);
  if (isEventBridge(parsed)) return fromEventBridge(parsed, attributes);
  if (isSnsNotification(parsed)) return fromSns(parsed, attributes);
  return fromRaw(parsed, attributes, messageId, stampedEventId);
}
