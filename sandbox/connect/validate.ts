/**
 * Request readers for the Connect emulator. Every length, pattern, type list and budget comes from the
 * shared limits table (`lib/connect/constraints.ts`), so the emulator refuses exactly what the ingest
 * validator is meant to refuse. Failures are InvalidParameterException (400) naming the field and the
 * limit; messages never echo values (task contents are customer data), only field names and sizes.
 *
 * Units are the ingest validator's (`lib/connect/validate-task.ts`), whose byte counters are used
 * here: characters are UTF-16 code units (`string.length`); the Attributes budget counts the UTF-8
 * bytes of every key and value; the References budget every key, Value and Type.
 */
import { REFERENCE_TYPES, type ReferenceType, type TaskLimits } from '#lib/connect/constraints.ts';

// The emulator counts the budgets itself (no lib/connect validation code): the service's own checks
// and the emulated API must be able to disagree, or the tests would prove nothing.
const utf8 = (value: string) => Buffer.byteLength(value, 'utf8');

/** UTF-8 bytes of every attribute key and value (the 32,768-byte budget). */
function attributesBytes(attrs: Record<string, string>): number {
  let total = 0;
  for (const [key, value] of Object.entries(attrs)) total += utf8(key) + utf8(value);
  return total;
}

/** UTF-8 bytes of every reference key, Value and Type (the 4,096-byte budget). */
function referencesBytes(refs: Record<string, { Type: string; Value: string }>): number {
  let total = 0;
  for (const [key, ref] of Object.entries(refs)) total += utf8(key) + utf8(ref.Value) + utf8(ref.Type);
  return total;
}

import { ConnectApiError, invalidParameter } from './errors.ts';

export type JsonObject = Record<string, unknown>;

export interface ContactReference {
  Type: ReferenceType;
  Value: string;
}

/** Parses a request body: empty means `{}`; anything but a JSON object is a SerializationException. */
export function readJsonObject(body: Buffer): JsonObject {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConnectApiError('SerializationException', 'the request body is not valid JSON', {
      cause: error,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConnectApiError('SerializationException', 'the request body must be a JSON object');
  }
  return parsed as JsonObject;
}

/** A key as it may appear in a message: identifiers only, quoted, cut to 100 characters. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}…` : key);
}

export interface StringRule {
  min?: number;
  max?: number;
}

function checkLength(field: string, value: string, rule: StringRule): string {
  const length = value.length;
  if (rule.min !== undefined && length < rule.min) {
    throw invalidParameter(`${field} must be at least ${rule.min} characters (got ${length})`);
  }
  if (rule.max !== undefined && length > rule.max) {
    throw invalidParameter(`${field} must be at most ${rule.max} characters (got ${length})`);
  }
  return value;
}

/** An optional string member: absent or null gives undefined; a non-string is refused. */
export function optionalString(body: JsonObject, field: string, rule: StringRule = {}): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${field} must be a string`);
  return checkLength(field, value, rule);
}

export function requiredString(body: JsonObject, field: string, rule: StringRule = {}): string {
  const value = optionalString(body, field, rule);
  if (value === undefined) throw invalidParameter(`${field} is required`);
  return value;
}

/** A string taken from a URI path segment (already present, so only the lengths are checked). */
export function pathString(field: string, value: string, rule: StringRule): string {
  return checkLength(field, value, rule);
}

/**
 * Reads `Attributes`: a string-to-string map whose keys match the documented pattern and lengths.
 * The 32,768-byte budget is checked separately (`checkAttributesBudget`), after related-contact
 * attributes are merged in.
 */
export function readAttributes(value: unknown, limits: TaskLimits): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter('Attributes must be a map of string to string');
  }
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as JsonObject)) {
    const keyLength = key.length;
    if (keyLength < 1 || keyLength > limits.attributeKeyMaxLength) {
      throw invalidParameter(
        `Attributes keys must be 1 to ${limits.attributeKeyMaxLength} characters (got ${keyLength})`,
      );
    }
    if (!limits.attributeKeyPattern.test(key)) {
      throw invalidParameter(
        `Attributes key ${quoteKey(key)} may contain only alphanumeric, dash and underscore characters (${limits.attributeKeyPattern.source})`,
      );
    }
    if (typeof v !== 'string')
      throw invalidParameter(`Attributes value of ${quoteKey(key)} must be a string`);
    const valueLength = v.length;
    if (valueLength > limits.attributeValueMaxLength) {
      throw invalidParameter(
        `Attributes value of ${quoteKey(key)} must be at most ${limits.attributeValueMaxLength} characters (got ${valueLength})`,
      );
    }
    out[key] = v;
  }
  return out;
}

export function checkAttributesBudget(attributes: Record<string, string>, limits: TaskLimits): void {
  const total = attributesBytes(attributes);
  if (total > limits.attributesMaxTotalBytes) {
    throw invalidParameter(
      `Attributes may hold at most ${limits.attributesMaxTotalBytes} UTF-8 bytes across all key-value pairs (got ${total})`,
    );
  }
}

/** "DATE must be of type Epoch timestamp": an integer count since the epoch (the validator's pattern). */
export function isEpochTimestamp(value: string): boolean {
  return /^-?\d{1,15}$/.test(value);
}

/**
 * Reads `References`: key → {Type, Value}. `allowedTypes` is the limits table's list for the call
 * (at creation: URL | NUMBER | STRING | DATE | EMAIL; ATTACHMENT refused). DATE values must be epoch
 * timestamps. The 4,096-byte budget is checked separately (`checkReferencesBudget`).
 */
export function readReferences(
  value: unknown,
  limits: TaskLimits,
  allowedTypes: readonly ReferenceType[],
): Record<string, ContactReference> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter('References must be a map of key to {Type, Value}');
  }
  const out: Record<string, ContactReference> = {};
  for (const [key, reference] of Object.entries(value as JsonObject)) {
    const keyLength = key.length;
    if (keyLength < 1 || keyLength > limits.referenceKeyMaxLength) {
      throw invalidParameter(
        `References keys must be 1 to ${limits.referenceKeyMaxLength} characters (got ${keyLength})`,
      );
    }
    if (reference === null || typeof reference !== 'object' || Array.isArray(reference)) {
      throw invalidParameter(`References ${quoteKey(key)} must be an object {Type, Value}`);
    }
    const { Type: type, Value: referenceValue } = reference as JsonObject;
    if (typeof referenceValue !== 'string') {
      throw invalidParameter(`References ${quoteKey(key)}: Value is required and must be a string`);
    }
    if (typeof type !== 'string' || !(REFERENCE_TYPES as readonly string[]).includes(type)) {
      throw invalidParameter(
        `References ${quoteKey(key)}: Type must be one of ${REFERENCE_TYPES.join(' | ')}`,
      );
    }
    if (!(allowedTypes as readonly string[]).includes(type)) {
      throw invalidParameter(
        `References ${quoteKey(key)}: Type ${type} is not supported here; allowed: ${allowedTypes.join(' | ')}`,
      );
    }
    if (type === 'DATE' && !isEpochTimestamp(referenceValue)) {
      throw invalidParameter(`References ${quoteKey(key)}: a DATE value must be an epoch timestamp`);
    }
    out[key] = { Type: type as ReferenceType, Value: referenceValue };
  }
  return out;
}

export function checkReferencesBudget(
  references: Record<string, ContactReference>,
  limits: TaskLimits,
): void {
  const total = referencesBytes(references);
  if (total > limits.referencesMaxTotalBytes) {
    throw invalidParameter(
      `References may hold at most ${limits.referencesMaxTotalBytes} UTF-8 bytes across all references (got ${total})`,
    );
  }
}

/** `ScheduledTime`: epoch seconds, as the SDK serialises a Date (a JSON number, maybe fractional). */
export function readScheduledTime(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidParameter('ScheduledTime must be a timestamp in epoch seconds');
  }
  return value;
}

/** "The scheduled time cannot be in the past. It must be within up to 6 days in future." (000, 003) */
export function checkScheduledWindow(seconds: number, nowMs: number, limits: TaskLimits): void {
  const atMs = seconds * 1000;
  if (atMs < nowMs) throw invalidParameter('ScheduledTime cannot be in the past');
  const aheadSeconds = (atMs - nowMs) / 1000;
  if (aheadSeconds > limits.scheduledTimeMaxAheadSeconds) {
    throw invalidParameter(
      `ScheduledTime must be at most ${limits.scheduledTimeMaxAheadSeconds} seconds in the future (got ${Math.ceil(aheadSeconds)})`,
    );
  }
}
