import { SqsApiError } from './errors.ts';

/**
 * Queue attributes: defaults, validation and normalisation of the settable ones, the names of the
 * read-only ones. Values are strings on the wire, as in SQS.
 */

/** Attributes every queue has, with SQS's defaults. */
export const DEFAULT_QUEUE_ATTRIBUTES: Readonly<Record<string, string>> = {
  DelaySeconds: '0',
  // SQS raised the maximum (and default) to 1 MiB in 2025; the project's limits are written for 256 KiB.
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  ReceiveMessageWaitTimeSeconds: '0',
  VisibilityTimeout: '30',
  SqsManagedSseEnabled: 'true',
};

/** Attributes computed by the queue; GetQueueAttributes returns them, Create/SetQueueAttributes refuse them. */
export const READ_ONLY_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
] as const;

const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};

const FREE_TEXT = new Set(['KmsMasterKeyId']);
const BOOLEANS = new Set(['SqsManagedSseEnabled', 'FifoQueue']);
const JSON_DOCUMENTS = new Set(['Policy', 'RedrivePolicy', 'RedriveAllowPolicy']);

/** Every attribute name CreateQueue/SetQueueAttributes accept for a standard queue. */
export const SETTABLE_ATTRIBUTES: ReadonlySet<string> = new Set([
  ...Object.keys(INTEGER_RANGES),
  ...FREE_TEXT,
  ...BOOLEANS,
  ...JSON_DOCUMENTS,
]);

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

interface RedriveAllowPolicy {
  redrivePermission: 'allowAll' | 'denyAll' | 'byQueue';
  sourceQueueArns?: string[];
}

function invalidValue(name: string, detail?: string): SqsApiError {
  return new SqsApiError(
    'InvalidAttributeValue',
    `Invalid value for the parameter ${name}.${detail ? ` Reason: ${detail}` : ''}`,
  );
}

/**
 * Validates attributes for CreateQueue / SetQueueAttributes and returns them normalised (integers without
 * leading zeros, JSON policies re-serialised canonically). An empty RedrivePolicy or RedriveAllowPolicy
 * value means "remove" and is kept as ''.
 */
export function normaliseQueueAttributes(input: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!SETTABLE_ATTRIBUTES.has(name))
      throw new SqsApiError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    const range = INTEGER_RANGES[name];
    if (range) {
      if (!/^\d+$/.test(value)) throw invalidValue(name);
      const n = Number(value);
      if (n < range[0] || n > range[1])
        throw invalidValue(name, `Must be between ${range[0]} and ${range[1]}.`);
      out[name] = String(n);
    } else if (BOOLEANS.has(name)) {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw invalidValue(name);
      if (name === 'FifoQueue' && lower === 'true')
        throw invalidValue(name, 'FIFO queues are not emulated by the sandbox.');
      out[name] = lower;
    } else if (name === 'RedrivePolicy') {
      out[name] = value === '' ? '' : JSON.stringify(parseRedrivePolicy(value));
    } else if (name === 'RedriveAllowPolicy') {
      out[name] = value === '' ? '' : JSON.stringify(parseRedriveAllowPolicy(value));
    } else if (name === 'Policy') {
      if (value !== '') parseJsonObject(name, value);
      out[name] = value;
    } else {
      out[name] = value;
    }
  }
  return out;
}

function parseJsonObject(name: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new SqsApiError('InvalidAttributeValue', `Invalid value for the parameter ${name}.`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidValue(name);
  return parsed as Record<string, unknown>;
}

/** Parses a RedrivePolicy document: `deadLetterTargetArn` and `maxReceiveCount` 1..1000 (number or string). */
export function parseRedrivePolicy(value: string): RedrivePolicy {
  const doc = parseJsonObject('RedrivePolicy', value);
  const arn = doc.deadLetterTargetArn;
  if (typeof arn !== 'string' || !/^arn:[^:]+:sqs:[^:]*:[^:]*:[^:]+$/.test(arn))
    throw invalidValue('RedrivePolicy', 'Invalid value for deadLetterTargetArn.');
  const raw = doc.maxReceiveCount;
  const count = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1000)
    throw invalidValue('RedrivePolicy', 'Invalid value for maxReceiveCount: must be between 1 and 1000.');
  return { deadLetterTargetArn: arn, maxReceiveCount: count };
}

/** Parses a RedriveAllowPolicy document (allowAll | denyAll | byQueue with 1..10 source queue ARNs). */
function parseRedriveAllowPolicy(value: string): RedriveAllowPolicy {
  const doc = parseJsonObject('RedriveAllowPolicy', value);
  const permission = doc.redrivePermission;
  if (permission !== 'allowAll' && permission !== 'denyAll' && permission !== 'byQueue')
    throw invalidValue('RedriveAllowPolicy', 'redrivePermission must be allowAll, denyAll or byQueue.');
  const arns = doc.sourceQueueArns;
  if (permission !== 'byQueue') {
    if (arns !== undefined) throw invalidValue('RedriveAllowPolicy', 'sourceQueueArns requires byQueue.');
    return { redrivePermission: permission };
  }
  if (
    !Array.isArray(arns) ||
    arns.length === 0 ||
    arns.length > 10 ||
    !arns.every((arn) => typeof arn === 'string')
  )
    throw invalidValue('RedriveAllowPolicy', 'byQueue requires 1 to 10 sourceQueueArns.');
  return { redrivePermission: permission, sourceQueueArns: arns as string[] };
}

/** True when a dead-letter queue's RedriveAllowPolicy lets `sourceArn` use it. */
export function redriveAllowed(allowPolicy: string | undefined, sourceArn: string): boolean {
  if (!allowPolicy) return true;
  const policy = parseRedriveAllowPolicy(allowPolicy);
  if (policy.redrivePermission === 'allowAll') return true;
  if (policy.redrivePermission === 'denyAll') return false;
  return policy.sourceQueueArns?.includes(sourceArn) ?? false;
}
