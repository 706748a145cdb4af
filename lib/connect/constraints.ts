import { LimitsConfigError } from './errors.ts';
/**
 * The documented limits of the Amazon Connect task APIs, in one table.
 *
 * Every number here is quoted from the Amazon Connect API references (document named beside it).
 * Both the ingest validator (`lib/connect/validate-task.ts`) and the sandbox's Connect emulator
 * read this table, so the emulator can never accept what the validator refuses or the reverse.
 *
 * The live service moves (newer service models allow Name up to 1,024 characters), so every limit
 * can be overridden by configuration: `CONNECT_LIMITS` holds a JSON object of the fields to change,
 * e.g. `{"nameMaxLength":1024}`.
 */

/** Reference types in the Amazon Connect API model. */
export const REFERENCE_TYPES = ['URL', 'ATTACHMENT', 'NUMBER', 'STRING', 'DATE', 'EMAIL'] as const;
type ReferenceType = (typeof REFERENCE_TYPES)[number];

/**
 * Task template field types: the Amazon Connect API model's TaskTemplateFieldType. The task template
 * API reference this product was first built from lists the first twelve; the model adds SELF_ASSIGN
 * and EXPIRY_DURATION, and templates that use them must be manageable as code too.
 */
export const TEMPLATE_FIELD_TYPES = [
  'NAME',
  'DESCRIPTION',
  'SCHEDULED_TIME',
  'QUICK_CONNECT',
  'URL',
  'NUMBER',
  'TEXT',
  'TEXT_AREA',
  'DATE_TIME',
  'BOOLEAN',
  'SINGLE_SELECT',
  'EMAIL',
  'SELF_ASSIGN',
  'EXPIRY_DURATION',
] as const;
export type TemplateFieldType = (typeof TEMPLATE_FIELD_TYPES)[number];

export interface TaskLimits {
  /** InstanceId: 1..100 characters (StartTaskContact API reference). */
  instanceIdMinLength: number;
  instanceIdMaxLength: number;
  /** ContactFlowId: at most 500 characters (StartTaskContact API reference). */
  contactFlowIdMaxLength: number;
  /** Name: required, 0..512 characters (StartTaskContact API reference). Newer API models: 1,024. */
  nameMaxLength: number;
  /** Description: 0..4,096 characters (StartTaskContact API reference). */
  descriptionMaxLength: number;
  /** ClientToken: at most 500 characters (StartTaskContact API reference). */
  clientTokenMaxLength: number;
  /** PreviousContactId: 1..256 characters (StartTaskContact API reference). RelatedContactId and returned ContactId: same bounds. */
  contactIdMinLength: number;
  contactIdMaxLength: number;
  /** Attributes: key 1..32,767, value 0..32,767 characters (StartTaskContact API reference). */
  attributeKeyMaxLength: number;
  attributeValueMaxLength: number;
  /** "up to 32,768 UTF-8 bytes across all key-value pairs per contact" (StartTaskContact API reference). */
  attributesMaxTotalBytes: number;
  /** "Attribute keys can include only alphanumeric, dash, and underscore characters" (StartTaskContact API reference). */
  attributeKeyPattern: RegExp;
  /** References: key 1..4,096 characters (StartTaskContact API reference). */
  referenceKeyMaxLength: number;
  /** "up to 4,096 UTF-8 bytes across all references for a contact" (StartTaskContact API reference). */
  referencesMaxTotalBytes: number;
  /** Types allowed at task creation: URL | NUMBER | STRING | DATE | EMAIL; ATTACHMENT is not (StartTaskContact API reference). */
  referenceTypesAtCreation: readonly ReferenceType[];
  /**
   * Types UpdateContact takes in References (its API reference: URL | ATTACHMENT | NUMBER | STRING |
   * DATE | EMAIL; the SDK model lists further, system-made types such as CONTACT_ANALYSIS and the
   * EMAIL_MESSAGE ones, which a rule never writes).
   */
  referenceTypesAtUpdate: readonly ReferenceType[];
  /** "The scheduled time cannot be in the past. It must be within up to 6 days in future." (StartTaskContact API reference) */
  scheduledTimeMaxAheadSeconds: number;
  /** "There can be a maximum of 12 linked task contacts in a chain" (StartTaskContact API reference) → 402 beyond. */
  previousContactChainMax: number;
  /** "A contact cannot be transferred more than 11 times." (TransferContact API reference) */
  transfersPerContactMax: number;
}

export const DEFAULT_TASK_LIMITS: Readonly<TaskLimits> = Object.freeze<TaskLimits>({
  instanceIdMinLength: 1,
  instanceIdMaxLength: 100,
  contactFlowIdMaxLength: 500,
  nameMaxLength: 512,
  descriptionMaxLength: 4096,
  clientTokenMaxLength: 500,
  contactIdMinLength: 1,
  contactIdMaxLength: 256,
  attributeKeyMaxLength: 32_767,
  attributeValueMaxLength: 32_767,
  attributesMaxTotalBytes: 32_768,
  attributeKeyPattern: /^[A-Za-z0-9_-]+$/,
  referenceKeyMaxLength: 4096,
  referencesMaxTotalBytes: 4096,
  referenceTypesAtCreation: ['URL', 'NUMBER', 'STRING', 'DATE', 'EMAIL'],
  referenceTypesAtUpdate: ['URL', 'ATTACHMENT', 'NUMBER', 'STRING', 'DATE', 'EMAIL'],
  scheduledTimeMaxAheadSeconds: 6 * 24 * 60 * 60,
  previousContactChainMax: 12,
  transfersPerContactMax: 11,
});

const NUMERIC_KEYS = Object.entries(DEFAULT_TASK_LIMITS)
  .filter(([, v]) => typeof v === 'number')
  .map(([k]) => k);

/**
 * Builds a limits table from the defaults and an override object (numbers only; the key pattern and
 * the reference types are fixed by the API shape). Unknown keys and non-positive-integer values are
 * refused with a clear TypeError, so a typo in configuration fails the cold start.
 */
export function resolveTaskLimits(overrides: Record<string, unknown> = {}): TaskLimits {
  const limits: TaskLimits = { ...DEFAULT_TASK_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!NUMERIC_KEYS.includes(key)) {
      throw new LimitsConfigError(`unknown Connect limit "${key}"; known: ${NUMERIC_KEYS.join(', ')}`);
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new LimitsConfigError(
        `Connect limit "${key}" must be a non-negative integer, got ${String(value)}`,
      );
    }
    (limits as unknown as Record<string, number>)[key] = value;
  }
  return limits;
}

/**
 * Parses the `CONNECT_LIMITS` JSON (empty or absent means the documented defaults). The caller reads
 * the variable (lib/config.ts, the CLI's environment).
 */
export function parseTaskLimits(raw?: string): TaskLimits {
  if (raw === undefined || raw.trim() === '') return resolveTaskLimits();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new LimitsConfigError('CONNECT_LIMITS is not valid JSON', { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LimitsConfigError('CONNECT_LIMITS must be a JSON object of limit overrides');
  }
  return resolveTaskLimits(parsed as Record<string, unknown>);
}

/** UTF-8 byte length, the unit of the Attributes and References budgets. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}
