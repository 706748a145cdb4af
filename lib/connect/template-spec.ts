/**
 * Task templates as code: the template file format (`events/templates/*.json`), its validation
 * against the documented limits, the normalized form both a file and a GetTaskTemplate output
 * reduce to, the diff between two normalized templates, and the full-replace request built from a
 * file.
 *
 * File format (JSON):
 *   { "name": "Delayed order", "description": "…", "contactFlowId": "…", "status": "ACTIVE",
 *     "fields": [{ "name": "Order total", "type": "NUMBER", "description": "…", "options": ["…"] }],
 *     "constraints": { "required": ["Name"], "readOnly": [], "invisible": [] },
 *     "defaults": { "Description": "…" } }
 *
 * Limits (Amazon Connect API reference: CreateTaskTemplate, TaskTemplateField,
 * TaskTemplateFieldIdentifier, TaskTemplateMetadata; array sizes from the AWS::Connect::TaskTemplate
 * CloudFormation reference): template Name 1..100 characters, Description 1..255, ContactFlowId at
 * most 500 (the rule schema's bound too), field name 1..100, field description 1..255, single-select
 * option 1..100 characters, at most 50 options per field, at most 50 fields, at most 50 defaults.
 * Field types: `TEMPLATE_FIELD_TYPES` (`lib/connect/constraints.ts`).
 *
 * Normalization: an absent or empty description/contactFlowId is absent; status defaults to ACTIVE;
 * field order is kept (it is the order agents see); constraint lists are sorted and deduplicated,
 * defaults sorted by field name (their order carries no meaning). Two templates are equal when
 * their normalized forms are.
 */

import type {
  CreateTaskTemplateCommandInput,
  GetTaskTemplateCommandOutput,
  UpdateTaskTemplateCommandInput,
} from '@aws-sdk/client-connect';
import { TEMPLATE_FIELD_TYPES, type TemplateFieldType } from '#lib/connect/constraints.ts';
import { isObject } from '#lib/guards.ts';

const TEMPLATE_LIMITS = Object.freeze({
  nameMaxLength: 100,
  descriptionMaxLength: 255,
  contactFlowIdMaxLength: 500,
  fieldNameMaxLength: 100,
  fieldDescriptionMaxLength: 255,
  optionMaxLength: 100,
  optionsMax: 50,
  fieldsMax: 50,
  defaultsMax: 50,
});

type TemplateStatus = 'ACTIVE' | 'INACTIVE';

interface TemplateFieldSpec {
  name: string;
  type?: TemplateFieldType;
  description?: string;
  options?: string[];
}

/** The normalized template: what a file says and what the instance has, in one comparable shape. */
export interface TemplateSpec {
  name: string;
  description?: string;
  contactFlowId?: string;
  status: TemplateStatus;
  fields: TemplateFieldSpec[];
  constraints: { required: string[]; readOnly: string[]; invisible: string[] };
  defaults: Record<string, string>;
}

export type TemplateFileValidation = { ok: true; spec: TemplateSpec } | { ok: false; errors: string[] };

const FILE_KEYS = [
  '$comment',
  'name',
  'description',
  'contactFlowId',
  'status',
  'fields',
  'constraints',
  'defaults',
];
const FIELD_KEYS = ['name', 'type', 'description', 'options'];
const CONSTRAINT_KEYS = ['required', 'readOnly', 'invisible'] as const;

function checkString(
  errors: string[],
  where: string,
  value: unknown,
  bounds: { min: number; max: number },
): value is string {
  if (typeof value !== 'string') {
    errors.push(`${where}: must be a string`);
    return false;
  }
  if (value.length < bounds.min || value.length > bounds.max) {
    errors.push(`${where}: ${value.length} characters; must be ${bounds.min} to ${bounds.max}`);
    return false;
  }
  return true;
}

/**
 * Validates a parsed template file.
 * Input: the parsed JSON. Output: `{ok, spec}` (normalized) or `{ok: false, errors}` with every problem.
 */
export function validateTemplateFile(input: unknown): TemplateFileValidation {
  const errors: string[] = [];
  if (!isObject(input)) return { ok: false, errors: ['a template file must hold a JSON object'] };
  for (const key of Object.keys(input)) {
    if (!FILE_KEYS.includes(key))
      errors.push(`${key}: unknown key (known: ${FILE_KEYS.slice(1).join(', ')})`);
  }
  checkString(errors, 'name', input.name, { min: 1, max: TEMPLATE_LIMITS.nameMaxLength });
  if (input.description !== undefined)
    checkString(errors, 'description', input.description, {
      min: 1,
      max: TEMPLATE_LIMITS.descriptionMaxLength,
    });
  if (input.contactFlowId !== undefined)
    checkString(errors, 'contactFlowId', input.contactFlowId, {
      min: 1,
      max: TEMPLATE_LIMITS.contactFlowIdMaxLength,
    });
  if (input.status !== undefined && input.status !== 'ACTIVE' && input.status !== 'INACTIVE')
    errors.push('status: must be ACTIVE or INACTIVE');

  const { fields, names } = checkFields(errors, input.fields);
  const constraints = checkConstraints(errors, input.constraints, names);
  const defaults = checkDefaults(errors, input.defaults, names);

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    spec: normalizeSpec({
      name: input.name as string,
      description: input.description as string | undefined,
      contactFlowId: input.contactFlowId as string | undefined,
      status: (input.status as TemplateStatus | undefined) ?? 'ACTIVE',
      fields,
      constraints,
      defaults,
    }),
  };
}

/** The `fields` list: every problem into `errors`; the fields and their names. */
function checkFields(errors: string[], input: unknown): { fields: TemplateFieldSpec[]; names: Set<string> } {
  const names = new Set<string>();
  const fields: TemplateFieldSpec[] = [];
  if (!Array.isArray(input)) {
    errors.push('fields: required, an array of {name, type, description?, options?}');
    return { fields, names };
  }
  if (input.length > TEMPLATE_LIMITS.fieldsMax)
    errors.push(`fields: ${input.length} fields; at most ${TEMPLATE_LIMITS.fieldsMax}`);
  for (const [i, raw] of input.entries()) {
    const field = checkField(errors, raw, i, names);
    if (field !== undefined) fields.push(field);
  }
  return { fields, names };
}

/** One entry of `fields`: its problems into `errors`, the field (or undefined when not an object). */
function checkField(
  errors: string[],
  raw: unknown,
  i: number,
  names: Set<string>,
): TemplateFieldSpec | undefined {
  const where = `fields[${i}]`;
  if (!isObject(raw)) {
    errors.push(`${where}: must be an object {name, type, description?, options?}`);
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (!FIELD_KEYS.includes(key))
      errors.push(`${where}.${key}: unknown key (known: ${FIELD_KEYS.join(', ')})`);
  const nameOk = checkString(errors, `${where}.name`, raw.name, {
    min: 1,
    max: TEMPLATE_LIMITS.fieldNameMaxLength,
  });
  const name = nameOk ? (raw.name as string) : `#${i}`;
  if (nameOk) {
    if (names.has(name)) errors.push(`${where}.name: field "${name}" appears twice`);
    names.add(name);
  }
  if (!TEMPLATE_FIELD_TYPES.includes(raw.type as TemplateFieldType))
    errors.push(`${where}.type: must be one of ${TEMPLATE_FIELD_TYPES.join(', ')}`);
  if (raw.description !== undefined)
    checkString(errors, `${where}.description`, raw.description, {
      min: 1,
      max: TEMPLATE_LIMITS.fieldDescriptionMaxLength,
    });
  if (raw.options !== undefined) {
    if (raw.type !== 'SINGLE_SELECT') errors.push(`${where}.options: only a SINGLE_SELECT field has options`);
    if (!Array.isArray(raw.options)) errors.push(`${where}.options: must be an array of strings`);
    else {
      if (raw.options.length > TEMPLATE_LIMITS.optionsMax)
        errors.push(`${where}.options: ${raw.options.length} options; at most ${TEMPLATE_LIMITS.optionsMax}`);
      for (const [j, option] of raw.options.entries())
        checkString(errors, `${where}.options[${j}]`, option, {
          min: 1,
          max: TEMPLATE_LIMITS.optionMaxLength,
        });
    }
  } else if (raw.type === 'SINGLE_SELECT')
    errors.push(`${where}.options: a SINGLE_SELECT field needs options`);
  return {
    name,
    type: raw.type as TemplateFieldType,
    ...(raw.description === undefined ? {} : { description: raw.description as string }),
    ...(raw.options === undefined ? {} : { options: raw.options as string[] }),
  };
}

/** The `constraints` object: every problem into `errors`; the lists of field names. */
function checkConstraints(errors: string[], input: unknown, names: Set<string>): TemplateSpec['constraints'] {
  const constraints: TemplateSpec['constraints'] = { required: [], readOnly: [], invisible: [] };
  if (input !== undefined) {
    if (!isObject(input)) errors.push('constraints: must be an object {required?, readOnly?, invisible?}');
    else {
      for (const key of Object.keys(input))
        if (!(CONSTRAINT_KEYS as readonly string[]).includes(key))
          errors.push(`constraints.${key}: unknown key (known: ${CONSTRAINT_KEYS.join(', ')})`);
      for (const key of CONSTRAINT_KEYS) {
        const list = input[key];
        if (list === undefined) continue;
        if (!Array.isArray(list) || list.some((n) => typeof n !== 'string')) {
          errors.push(`constraints.${key}: must be an array of field names`);
          continue;
        }
        for (const n of list as string[])
          if (!names.has(n)) errors.push(`constraints.${key}: "${n}" is not a field of the template`);
        constraints[key] = list as string[];
      }
    }
  }

  return constraints;
}

/** The `defaults` object: every problem into `errors`; the string defaults. */
function checkDefaults(errors: string[], input: unknown, names: Set<string>): Record<string, string> {
  const defaults: Record<string, string> = {};
  if (input !== undefined) {
    if (!isObject(input)) errors.push('defaults: must be an object {fieldName: value}');
    else {
      const entries = Object.entries(input);
      if (entries.length > TEMPLATE_LIMITS.defaultsMax)
        errors.push(`defaults: ${entries.length} defaults; at most ${TEMPLATE_LIMITS.defaultsMax}`);
      for (const [n, value] of entries) {
        if (typeof value !== 'string') errors.push(`defaults.${n}: must be a string`);
        else defaults[n] = value;
        if (!names.has(n)) errors.push(`defaults.${n}: "${n}" is not a field of the template`);
      }
    }
  }

  return defaults;
}

const sortedUnique = (list: readonly string[]) => [...new Set(list)].sort();

/** The canonical form (see the module comment). */
function normalizeSpec(spec: TemplateSpec): TemplateSpec {
  const defaults: Record<string, string> = {};
  for (const key of Object.keys(spec.defaults).sort()) defaults[key] = spec.defaults[key] as string;
  return {
    name: spec.name,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.contactFlowId ? { contactFlowId: spec.contactFlowId } : {}),
    status: spec.status,
    fields: spec.fields.map((f) => ({
      name: f.name,
      ...(f.type === undefined ? {} : { type: f.type }),
      ...(f.description ? { description: f.description } : {}),
      ...(f.options === undefined || f.options.length === 0 ? {} : { options: [...f.options] }),
    })),
    constraints: {
      required: sortedUnique(spec.constraints.required),
      readOnly: sortedUnique(spec.constraints.readOnly),
      invisible: sortedUnique(spec.constraints.invisible),
    },
    defaults,
  };
}

type RemoteTemplate = Pick<
  GetTaskTemplateCommandOutput,
  'Name' | 'Description' | 'ContactFlowId' | 'Status' | 'Fields' | 'Constraints' | 'Defaults'
>;

const refNames = (refs: Array<{ Id?: { Name?: string } }> | undefined) =>
  (refs ?? []).map((r) => r.Id?.Name).filter((n): n is string => n !== undefined);

/** A GetTaskTemplate output (or a world template) → the normalized spec. */
export function specFromRemote(remote: RemoteTemplate): TemplateSpec {
  const defaults: Record<string, string> = {};
  for (const d of remote.Defaults?.DefaultFieldValues ?? [])
    if (d.Id?.Name !== undefined) defaults[d.Id.Name] = d.DefaultValue ?? '';
  return normalizeSpec({
    name: remote.Name ?? '',
    ...(remote.Description === undefined ? {} : { description: remote.Description }),
    ...(remote.ContactFlowId === undefined ? {} : { contactFlowId: remote.ContactFlowId }),
    status: remote.Status === 'INACTIVE' ? 'INACTIVE' : 'ACTIVE',
    fields: (remote.Fields ?? []).map((f) => ({
      name: f.Id?.Name ?? '',
      ...(f.Type === undefined ? {} : { type: f.Type as TemplateFieldType }),
      ...(f.Description === undefined ? {} : { description: f.Description }),
      ...(f.SingleSelectOptions === undefined ? {} : { options: f.SingleSelectOptions }),
    })),
    constraints: {
      required: refNames(remote.Constraints?.RequiredFields),
      readOnly: refNames(remote.Constraints?.ReadOnlyFields),
      invisible: refNames(remote.Constraints?.InvisibleFields),
    },
    defaults,
  });
}

/** The normalized spec in the file format (what `templates show` prints). */
export function specToFile(spec: TemplateSpec): Record<string, unknown> {
  const { constraints, defaults, ...rest } = spec;
  return {
    ...rest,
    constraints: Object.fromEntries(Object.entries(constraints).filter(([, list]) => list.length > 0)),
    defaults,
  };
}

/** Every member of the template, for CreateTaskTemplate and (full-replace) UpdateTaskTemplate. */
export function templateMembers(
  spec: TemplateSpec,
): Omit<CreateTaskTemplateCommandInput, 'InstanceId' | 'ClientToken'> &
  Pick<UpdateTaskTemplateCommandInput, 'Name'> {
  const ref = (name: string) => ({ Id: { Name: name } });
  return {
    Name: spec.name,
    ...(spec.description === undefined ? {} : { Description: spec.description }),
    ...(spec.contactFlowId === undefined ? {} : { ContactFlowId: spec.contactFlowId }),
    Status: spec.status,
    Fields: spec.fields.map((f) => ({
      Id: { Name: f.name },
      ...(f.type === undefined ? {} : { Type: f.type }),
      ...(f.description === undefined ? {} : { Description: f.description }),
      ...(f.options === undefined ? {} : { SingleSelectOptions: f.options }),
    })),
    Constraints: {
      RequiredFields: spec.constraints.required.map(ref),
      ReadOnlyFields: spec.constraints.readOnly.map(ref),
      InvisibleFields: spec.constraints.invisible.map(ref),
    },
    Defaults: {
      DefaultFieldValues: Object.entries(spec.defaults).map(([name, value]) => ({
        Id: { Name: name },
        DefaultValue: value,
      })),
    },
  };
}

const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));

/**
 * The changes that turn `remote` into `desired`, one line each (`+` added, `-` removed, `~`
 * changed); empty when they are equal. Both are normalized specs.
 */
export function diffSpecs(remote: TemplateSpec, desired: TemplateSpec): string[] {
  const lines: string[] = [];
  for (const key of ['name', 'description', 'contactFlowId', 'status'] as const) {
    if (remote[key] !== desired[key]) lines.push(`~ ${key}: ${show(remote[key])} → ${show(desired[key])}`);
  }
  const before = new Map(remote.fields.map((f) => [f.name, f]));
  const after = new Map(desired.fields.map((f) => [f.name, f]));
  for (const f of remote.fields)
    if (!after.has(f.name)) lines.push(`- field "${f.name}" (${f.type ?? 'no type'})`);
  for (const f of desired.fields) {
    const old = before.get(f.name);
    if (old === undefined) {
      lines.push(`+ field "${f.name}" (${f.type ?? 'no type'})`);
      continue;
    }
    for (const key of ['type', 'description', 'options'] as const) {
      if (JSON.stringify(old[key]) !== JSON.stringify(f[key]))
        lines.push(`~ field "${f.name}" ${key}: ${show(old[key])} → ${show(f[key])}`);
    }
  }
  const order = (spec: TemplateSpec) =>
    spec.fields.map((f) => f.name).filter((n) => before.has(n) && after.has(n));
  if (JSON.stringify(order(remote)) !== JSON.stringify(order(desired)))
    lines.push(
      `~ field order: ${show(remote.fields.map((f) => f.name))} → ${show(desired.fields.map((f) => f.name))}`,
    );
  for (const key of CONSTRAINT_KEYS) {
    const was = new Set(remote.constraints[key]);
    const now = new Set(desired.constraints[key]);
    for (const n of was) if (!now.has(n)) lines.push(`- ${key} "${n}"`);
    for (const n of now) if (!was.has(n)) lines.push(`+ ${key} "${n}"`);
  }
  for (const [n, v] of Object.entries(remote.defaults)) {
    if (!(n in desired.defaults)) lines.push(`- default "${n}": ${show(v)}`);
    else if (desired.defaults[n] !== v)
      lines.push(`~ default "${n}": ${show(v)} → ${show(desired.defaults[n])}`);
  }
  for (const [n, v] of Object.entries(desired.defaults))
    if (!(n in remote.defaults)) lines.push(`+ default "${n}": ${show(v)}`);
  return lines;
}

/**
 * What UpdateTaskTemplate cannot express: a member the file drops that the instance has. The
 * request sends every member the file has, but an absent member is "leave as is" in the API, and
 * Description/ContactFlowId cannot be set to an empty string (minimum length 1).
 */
export function unsupportedRemovals(remote: TemplateSpec, desired: TemplateSpec): string[] {
  const problems: string[] = [];
  if (remote.description !== undefined && desired.description === undefined)
    problems.push(
      'description: the template has one and the file has none; UpdateTaskTemplate cannot remove it (give one)',
    );
  if (remote.contactFlowId !== undefined && desired.contactFlowId === undefined)
    problems.push(
      'contactFlowId: the template has one and the file has none; UpdateTaskTemplate cannot remove it (give one)',
    );
  return problems;
}
