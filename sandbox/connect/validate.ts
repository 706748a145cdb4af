/**
 * The request rules the API model cannot express, as the service documents state them (each limit
 * is cited in `limits.ts`): the Attributes key characters and 32,768-byte budget, the References
 * types per operation, DATE values and 4,096-byte budget, and the ScheduledTime window. Member
 * lengths, required members and enums are the model's (`check-input.ts`), checked before these.
 * Failures are InvalidParameterException naming the member and the limit, never echoing values.
 */
import { quoteKey } from './check-input.ts';
import { invalidParameter } from './errors.ts';
import type { EmulatorLimits } from './limits.ts';

export interface ContactReference {
  Type: string;
  Value: string;
}

const utf8 = (value: string) => Buffer.byteLength(value, 'utf8');

/** Attribute keys: the documented characters (lengths and types are the model's). */
export function checkAttributeKeys(attributes: Record<string, string>, limits: EmulatorLimits): void {
  for (const key of Object.keys(attributes)) {
    if (!limits.attributes.keyPattern.test(key)) {
      throw invalidParameter(
        `Attributes key ${quoteKey(key)} may contain only alphanumeric, dash and underscore characters (${limits.attributes.keyPattern.source})`,
      );
    }
  }
}

/** UTF-8 bytes of every attribute key and value, against the 32,768-byte budget. */
export function checkAttributesBudget(attributes: Record<string, string>, limits: EmulatorLimits): void {
  let total = 0;
  for (const [key, value] of Object.entries(attributes)) total += utf8(key) + utf8(value);
  if (total > limits.attributes.maxTotalBytes) {
    throw invalidParameter(
      `Attributes may hold at most ${limits.attributes.maxTotalBytes} UTF-8 bytes across all key-value pairs (got ${total})`,
    );
  }
}

/** "DATE must be of type Epoch timestamp": an integer count since the epoch. */
function isEpochTimestamp(value: string): boolean {
  return /^-?\d{1,15}$/.test(value);
}

/**
 * References as a task may hold them: a Type the operation takes (`allowedTypes`),
 * DATE values epoch timestamps. Returns the references as stored ({Type, Value}).
 */
export function readReferences(
  value: unknown,
  allowedTypes: readonly string[],
): Record<string, ContactReference> {
  const out: Record<string, ContactReference> = {};
  for (const [key, reference] of Object.entries((value ?? {}) as Record<string, ContactReference>)) {
    // The model requires only Type (Value is optional in the Reference shape): no Value is ''.
    const referenceValue = reference.Value ?? '';
    if (!allowedTypes.includes(reference.Type)) {
      throw invalidParameter(
        `References ${quoteKey(key)}: Type ${reference.Type} is not supported here; allowed: ${allowedTypes.join(' | ')}`,
      );
    }
    if (reference.Type === 'DATE' && !isEpochTimestamp(referenceValue)) {
      throw invalidParameter(`References ${quoteKey(key)}: a DATE value must be an epoch timestamp`);
    }
    out[key] = { Type: reference.Type, Value: referenceValue };
  }
  return out;
}

/** UTF-8 bytes of every reference key, Value and Type, against the 4,096-byte budget. */
export function checkReferencesBudget(
  references: Record<string, ContactReference>,
  limits: EmulatorLimits,
): void {
  let total = 0;
  for (const [key, ref] of Object.entries(references)) total += utf8(key) + utf8(ref.Value) + utf8(ref.Type);
  if (total > limits.references.maxTotalBytes) {
    throw invalidParameter(
      `References may hold at most ${limits.references.maxTotalBytes} UTF-8 bytes across all references (got ${total})`,
    );
  }
}

/** "The scheduled time cannot be in the past. It must be within up to 6 days in future." */
export function checkScheduledWindow(seconds: number, nowMs: number, limits: EmulatorLimits): void {
  const atMs = seconds * 1000;
  if (atMs < nowMs) throw invalidParameter('ScheduledTime cannot be in the past');
  const aheadSeconds = (atMs - nowMs) / 1000;
  if (aheadSeconds > limits.tasks.scheduledMaxAheadSeconds) {
    throw invalidParameter(
      `ScheduledTime must be at most ${limits.tasks.scheduledMaxAheadSeconds} seconds in the future (got ${Math.ceil(aheadSeconds)})`,
    );
  }
}
