import { invalidParameter, missingParameter, SqsApiError } from './errors.ts';
import { isBinaryType, type StoredAttributeValue } from './md5.ts';
import { isJsonObject, type JsonObject } from './wire.ts';

/** SQS: at most 10 message attributes per message. */
const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_ATTRIBUTE_NAME_LENGTH = 256;
const MAX_DATA_TYPE_LENGTH = 256;

/**
 * The characters SQS accepts in a body and in string attribute values (XML 1.0 characters):
 * #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. With the `u` flag a lone
 * surrogate is one code point outside these ranges, so it is refused too.
 */
const DISALLOWED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]+$/;
const DATA_TYPE = /^(String|Number|Binary)(\..+)?$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Number attributes: up to 38 significant digits. */
const MAX_NUMBER_DIGITS = 38;

/** System attributes a producer may set on SendMessage (only the X-Ray trace header). */
const SENDABLE_SYSTEM_ATTRIBUTES = new Set(['AWSTraceHeader']);

/** Throws `InvalidMessageContents` when a body contains characters SQS does not accept. */
export function assertValidBody(body: string): void {
  if (body.length === 0) throw invalidParameter('MessageBody', '', 'The message body must not be empty.');
  if (DISALLOWED_CHARACTER.test(body)) {
    throw new SqsApiError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
}

/**
 * Parses and validates the `MessageAttributes` (or `MessageSystemAttributes`) member of a send.
 *
 * Input: the raw JSON member. Output: attributes with binary values decoded. Errors as SQS reports them:
 * more than 10 → `InvalidParameterValue`; bad names, data types or empty values → `InvalidParameterValue`;
 * characters outside the allowed set → `InvalidMessageContents`; wrong JSON types → `SerializationException`.
 */
export function parseMessageAttributes(
  raw: unknown,
  member: 'MessageAttributes' | 'MessageSystemAttributes',
): Record<string, StoredAttributeValue> {
  if (raw === undefined || raw === null) return {};
  if (!isJsonObject(raw)) throw new SqsApiError('SerializationException', `Member ${member} must be a map.`);
  const names = Object.keys(raw);
  if (member === 'MessageAttributes' && names.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `Number of message attributes [${names.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const out: Record<string, StoredAttributeValue> = {};
  for (const name of names) {
    if (member === 'MessageSystemAttributes') {
      if (!SENDABLE_SYSTEM_ATTRIBUTES.has(name))
        throw invalidParameter('MessageSystemAttributes', name, 'Only AWSTraceHeader can be set.');
    } else {
      assertAttributeName(name);
    }
    out[name] = parseAttributeValue(name, raw[name]);
  }
  if (member === 'MessageSystemAttributes') {
    const trace = out.AWSTraceHeader;
    if (trace && trace.DataType !== 'String')
      throw invalidParameter('MessageSystemAttributes', 'AWSTraceHeader', 'DataType must be String.');
  }
  return out;
}

function assertAttributeName(name: string): void {
  const reason = attributeNameProblem(name);
  if (reason) throw new SqsApiError('InvalidParameterValue', `Message attribute name '${name}' ${reason}`);
}

function attributeNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty.';
  if (name.length > MAX_ATTRIBUTE_NAME_LENGTH)
    return `must be at most ${MAX_ATTRIBUTE_NAME_LENGTH} characters.`;
  if (!ATTRIBUTE_NAME.test(name)) return 'contains characters outside A-Z a-z 0-9 _ - . .';
  if (/^(aws\.|amazon\.)/i.test(name)) return "must not start with 'AWS.' or 'Amazon.'.";
  if (name.startsWith('.') || name.endsWith('.')) return 'must not start or end with a period.';
  if (name.includes('..')) return 'must not contain successive periods.';
  return undefined;
}

function parseAttributeValue(name: string, raw: unknown): StoredAttributeValue {
  if (!isJsonObject(raw))
    throw new SqsApiError('SerializationException', `Message attribute '${name}' must be an object.`);
  const value = raw as JsonObject;
  const dataType = value.DataType;
  if (dataType === undefined || dataType === null || dataType === '') {
    throw missingParameter(`MessageAttribute.${name}.DataType`);
  }
  if (typeof dataType !== 'string')
    throw new SqsApiError('SerializationException', `DataType of '${name}' must be a string.`);
  if (dataType.length > MAX_DATA_TYPE_LENGTH || !DATA_TYPE.test(dataType)) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `The type of message (user) attribute '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
    );
  }
  if (value.StringListValues !== undefined || value.BinaryListValues !== undefined) {
    const lists = [value.StringListValues, value.BinaryListValues];
    if (lists.some((list) => Array.isArray(list) && list.length > 0))
      throw invalidParameter(`MessageAttribute.${name}`, 'list values', 'List values are not supported.');
  }
  if (isBinaryType(dataType)) {
    const encoded = value.BinaryValue;
    if (encoded !== undefined && typeof encoded !== 'string')
      throw new SqsApiError('SerializationException', `BinaryValue of '${name}' must be base64 text.`);
    if (typeof encoded === 'string' && !BASE64.test(encoded))
      throw new SqsApiError('SerializationException', `BinaryValue of '${name}' is not valid base64.`);
    const bytes = Buffer.from(encoded ?? '', 'base64');
    if (bytes.length === 0 || value.StringValue !== undefined) {
      throw new SqsApiError(
        'InvalidParameterValue',
        `Message attribute '${name}' must contain a non-empty value of message attribute type '${dataType}'.`,
      );
    }
    return { DataType: dataType, BinaryValue: bytes };
  }
  const text = value.StringValue;
  if (text !== undefined && typeof text !== 'string')
    throw new SqsApiError('SerializationException', `StringValue of '${name}' must be a string.`);
  if (text === undefined || text === '' || value.BinaryValue !== undefined) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `Message attribute '${name}' must contain a non-empty value of message attribute type '${dataType}'.`,
    );
  }
  if (DISALLOWED_CHARACTER.test(text)) {
    throw new SqsApiError(
      'InvalidMessageContents',
      `Message attribute '${name}' contains characters outside the allowed set.`,
    );
  }
  if (dataType === 'Number' || dataType.startsWith('Number.')) assertNumber(name, text);
  return { DataType: dataType, StringValue: text };
}

function assertNumber(name: string, text: string): void {
  const digits = text
    .replace(/[eE].*$/, '')
    .replace(/[^0-9]/g, '')
    .replace(/^0+/, '');
  if (!NUMBER.test(text) || digits.length > MAX_NUMBER_DIGITS) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `Can't convert value '${text}' of message attribute '${name}' to a Number.`,
    );
  }
}

/** Bytes a message counts against the size limit: body plus every attribute's name, type and value. */
export function messageSize(
  body: string,
  attributes: Readonly<Record<string, StoredAttributeValue>>,
): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType, 'utf8');
    size += value.BinaryValue ? value.BinaryValue.length : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return size;
}

/** The error real SQS returns for a message over `MaximumMessageSize` (an `InvalidParameterValue`). */
export function messageTooLong(limit: number): SqsApiError {
  return new SqsApiError(
    'InvalidParameterValue',
    `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
  );
}
