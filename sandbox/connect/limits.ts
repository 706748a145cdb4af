/**
 * The emulator's limits: the model's bounds (by shape name, see `model.ts`) plus the rules the model
 * cannot express, which the service documents state in prose. Tests and the sandbox may override any
 * of them (the `limits` option, or `CONNECT_LIMITS` as a JSON object); an override is layered on the
 * model data and never read from the product's limits table.
 */

import { z } from 'zod';
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { ConnectEmulatorConfigError } from './errors.ts';

/** Overrides in the product's limits vocabulary (the type only: the values are the emulator's own). */
export type ConnectLimitOverrides = Partial<TaskLimits>;

export interface EmulatorLimits {
  /** Shape name → bounds that replace the model's min/max for every member of that shape. */
  shapes: Record<string, { min?: number; max?: number }>;
  attributes: { keyPattern: RegExp; maxTotalBytes: number };
  references: { maxTotalBytes: number; typesAtCreation: readonly string[]; typesAtUpdate: readonly string[] };
  tasks: { scheduledMaxAheadSeconds: number; chainMax: number; transfersMax: number };
}

/** The rules the model cannot express, each with the document that states it. */
function documentedLimits(): EmulatorLimits {
  return {
    shapes: {},
    attributes: {
      // StartTaskContact API reference: "Attribute keys can include only alphanumeric, dash, and
      // underscore characters" (the model's AttributeName has lengths only).
      keyPattern: /^[A-Za-z0-9_-]+$/,
      // StartTaskContact API reference: up to 32,768 UTF-8 bytes across all key-value pairs per contact.
      maxTotalBytes: 32_768,
    },
    references: {
      // StartTaskContact and UpdateContact API references: up to 4,096 UTF-8 bytes across all references.
      maxTotalBytes: 4096,
      // StartTaskContact API reference: ATTACHMENT is not supported at creation.
      typesAtCreation: ['URL', 'NUMBER', 'STRING', 'DATE', 'EMAIL'],
      // UpdateContact API reference; the model's ReferenceType enum also lists system-made types
      // (CONTACT_ANALYSIS, EMAIL_MESSAGE...).
      typesAtUpdate: ['URL', 'ATTACHMENT', 'NUMBER', 'STRING', 'DATE', 'EMAIL'],
    },
    tasks: {
      // StartTaskContact API reference: "It must be within up to 6 days in future."
      scheduledMaxAheadSeconds: 6 * 24 * 60 * 60,
      // StartTaskContact API reference: "There can be a maximum of 12 linked task contacts in a chain."
      chainMax: 12,
      // TransferContact API reference: "A contact cannot be transferred more than 11 times."
      transfersMax: 11,
    },
  };
}

/** Override keys (the product's limits vocabulary) that move a model bound: key → [shape, bound]. */
const SHAPE_BOUNDS: Record<string, [string, 'min' | 'max']> = {
  instanceIdMinLength: ['InstanceId', 'min'],
  instanceIdMaxLength: ['InstanceId', 'max'],
  contactFlowIdMaxLength: ['ContactFlowId', 'max'],
  nameMaxLength: ['Name', 'max'],
  descriptionMaxLength: ['Description', 'max'],
  clientTokenMaxLength: ['ClientToken', 'max'],
  contactIdMinLength: ['ContactId', 'min'],
  contactIdMaxLength: ['ContactId', 'max'],
  attributeKeyMaxLength: ['AttributeName', 'max'],
  attributeValueMaxLength: ['AttributeValue', 'max'],
  referenceKeyMaxLength: ['ReferenceKey', 'max'],
};

type Group = Exclude<keyof EmulatorLimits, 'shapes'>;

/** Override keys that move a documented rule: key → [group, member]. */
const RULES: Record<string, [Group, string]> = {
  attributeKeyPattern: ['attributes', 'keyPattern'],
  attributesMaxTotalBytes: ['attributes', 'maxTotalBytes'],
  referencesMaxTotalBytes: ['references', 'maxTotalBytes'],
  referenceTypesAtCreation: ['references', 'typesAtCreation'],
  referenceTypesAtUpdate: ['references', 'typesAtUpdate'],
  scheduledTimeMaxAheadSeconds: ['tasks', 'scheduledMaxAheadSeconds'],
  previousContactChainMax: ['tasks', 'chainMax'],
  transfersPerContactMax: ['tasks', 'transfersMax'],
};

/** The documented limits with `overrides` layered on; unknown keys are refused. */
export function resolveLimits(overrides: ConnectLimitOverrides = {}): EmulatorLimits {
  const limits = documentedLimits();
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const bound = SHAPE_BOUNDS[key];
    const rule = RULES[key];
    if (bound) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw new ConnectEmulatorConfigError(`Connect limit ${key} must be a non-negative integer`);
      }
      const [shape, side] = bound;
      limits.shapes[shape] = { ...limits.shapes[shape], [side]: value };
    } else if (rule) {
      const group = limits[rule[0]] as Record<string, unknown>;
      const documented = group[rule[1]];
      if (typeof value !== typeof documented || Array.isArray(value) !== Array.isArray(documented)) {
        throw new ConnectEmulatorConfigError(`Connect limit ${key} has the wrong type`);
      }
      group[rule[1]] = value;
    } else {
      throw new ConnectEmulatorConfigError(`unknown Connect limit "${key}"`);
    }
  }
  return limits;
}

/** CONNECT_LIMITS: JSON text of an object of overrides. */
const overridesJson = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(z.record(z.string(), z.unknown()));

/** `CONNECT_LIMITS` (a JSON object of overrides) layered on the documented limits; empty means none. */
export function limitsFromEnv(raw: string | undefined = process.env.CONNECT_LIMITS): EmulatorLimits {
  if (raw === undefined || raw.trim() === '') return resolveLimits();
  const parsed = overridesJson.safeParse(raw);
  if (!parsed.success) {
    throw new ConnectEmulatorConfigError(
      `CONNECT_LIMITS must be a JSON object of limit overrides: ${z.prettifyError(parsed.error)}`,
    );
  }
  return resolveLimits(parsed.data as ConnectLimitOverrides);
}
