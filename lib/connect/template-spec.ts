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
import * as z from 'zod/mini';
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

const FIELD_SHAPE = '{name, type, description?, options?}';

/** A string of `min`..`max` characters; the message gives the length, never the text. */
function boundedString(max: number) {
  return z.string({ error: 'must be a string' }).check(
    z.refine((value) => value.length >= 1 && value.length <= max, {
      error: (issue) => `${String(issue.input).length} characters; must be 1 to ${max}`,
    }),
  );
}

const templateStatusSchema = z.enum(['ACTIVE', 'INACTIVE'], { error: 'must be ACTIVE or INACTIVE' });
type TemplateStatus = z.infer<typeof templateStatusSchema>;

const templateFieldSchema = z.strictObject(
  {
    name: boundedString(TEMPLATE_LIMITS.fieldNameMaxLength),
    type: z.enum(TEMPLATE_FIELD_TYPES, { error: `must be one of ${TEMPLATE_FIELD_TYPES.join(', ')}` }),
    description: z.optional(boundedString(TEMPLATE_LIMITS.fieldDescriptionMaxLength)),
    options: z.optional(
      z.array(boundedString(TEMPLATE_LIMITS.optionMaxLength), { error: 'must be an array of strings' }).check(
        z.maxLength(TEMPLATE_LIMITS.optionsMax, {
          error: (issue) =>
            `${(issue.input as unknown[]).length} options; at most ${TEMPLATE_LIMITS.optionsMax}`,
        }),
      ),
    ),
  },
  { error: `must be an object ${FIELD_SHAPE}` },
);
type FileField = z.infer<typeof templateFieldSchema>;
/** A field as a file gives it (`type` required) or as an instance has it (where Connect may omit `Type`). */
type TemplateFieldSpec = Omit<FileField, 'type'> & { type?: TemplateFieldType };

const fieldNames = z.optional(
  z.array(z.string({ error: 'must be a field name (a string)' }), {
    error: 'must be an array of field names',
  }),
);
const constraintsSchema = z.strictObject(
  { required: fieldNames, readOnly: fieldNames, invisible: fieldNames },
  { error: 'must be an object {required?, readOnly?, invisible?}' },
);

/** A template file's members, each checked on its own so that one bad member hides no other's problems. */
const TEMPLATE_FILE_MEMBERS = {
  $comment: z.optional(z.unknown()),
  name: boundedString(TEMPLATE_LIMITS.nameMaxLength),
  description: z.optional(boundedString(TEMPLATE_LIMITS.descriptionMaxLength)),
  contactFlowId: z.optional(boundedString(TEMPLATE_LIMITS.contactFlowIdMaxLength)),
  status: z.optional(templateStatusSchema),
  fields: z.array(z.unknown(), { error: `required, an array of ${FIELD_SHAPE}` }).check(
    z.maxLength(TEMPLATE_LIMITS.fieldsMax, {
      error: (issue) => `${(issue.input as unknown[]).length} fields; at most ${TEMPLATE_LIMITS.fieldsMax}`,
    }),
  ),
  constraints: z.optional(constraintsSchema),
  defaults: z.optional(
    z
      .record(z.string(), z.string({ error: 'must be a string' }), {
        error: 'must be an object {fieldName: value}',
      })
      .check(
        z.refine((d) => Object.keys(d).length <= TEMPLATE_LIMITS.defaultsMax, {
          error: (issue) =>
            `${Object.keys(issue.input as object).length} defaults; at most ${TEMPLATE_LIMITS.defaultsMax}`,
        }),
      ),
  ),
};

/** The normalized template: what a file says and what the instance has, in one comparable shape. */
export type TemplateSpec = {
  name: string;
  description?: string;
  contactFlowId?: string;
  status: TemplateStatus;
  fields: TemplateFieldSpec[];
  constraints: { required: string[]; readOnly: string[]; invisible: string[] };
  defaults: Record<string, string>;
};

export type TemplateFileValidation = { ok: true; spec: TemplateSpec } | { ok: false; errors: string[] };

const CONSTRAINT_KEYS = ['required', 'readOnly', 'invisible'] as const;

/** `fields[1].options[2]` from a member and a zod path. */
function at(member: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (where, key) => (typeof key === 'number' ? `${where}[${key}]` : `${where}.${String(key)}`),
    member,
  );
}

/** The issues of one parse as lines: an unknown key names the keys its object knows. */
function issueLines(
  where: string,
  issues: readonly z.core.$ZodIssue[],
  known: (path: readonly PropertyKey[]) => string[],
): string[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map(
          (key) => `${at(where, issue.path)}.${key}: unknown key (known: ${known(issue.path).join(', ')})`,
        )
      : [`${at(where, issue.path)}: ${issue.message}`],
  );
}

/** Parses one member, its problems into `errors`; undefined when it has any. */
function member<T>(
  errors: string[],
  where: string,
  schema: z.ZodMiniType<T>,
  value: unknown,
  known: (path: readonly PropertyKey[]) => string[] = () => [],
): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  errors.push(...issueLines(where, parsed.error.issues, known));
  return undefined;
}

/** Options exactly on SINGLE_SELECT fields. */
function checkOptions(errors: string[], field: FileField, where: string): void {
  if (field.options !== undefined && field.type !== 'SINGLE_SELECT')
    errors.push(`${where}.options: only a SINGLE_SELECT field has options`);
  if (field.options === undefined && field.type === 'SINGLE_SELECT')
    errors.push(`${where}.options: a SINGLE_SELECT field needs options`);
}

/**
 * Validates a parsed template file.
 * Input: the parsed JSON. Output: `{ok, spec}` (normalized) or `{ok: false, errors}` with every problem.
 */
export function validateTemplateFile(input: unknown): TemplateFileValidation {
  const root = member([], '', z.record(z.string(), z.unknown()), input);
  if (root === undefined || Array.isArray(input))
    return { ok: false, errors: ['a template file must hold a JSON object'] };
  const errors: string[] = [];
  const fileKeys = Object.keys(TEMPLATE_FILE_MEMBERS);
  for (const key of Object.keys(root))
    if (!fileKeys.includes(key)) errors.push(`${key}: unknown key (known: ${fileKeys.slice(1).join(', ')})`);
  const m = TEMPLATE_FILE_MEMBERS;
  const name = member(errors, 'name', m.name, root.name);
  const description = member(errors, 'description', m.description, root.description);
  const contactFlowId = member(errors, 'contactFlowId', m.contactFlowId, root.contactFlowId);
  const status = member(errors, 'status', m.status, root.status);
  const names = new Set<string>();
  const fields: TemplateFieldSpec[] = [];
  for (const [i, raw] of (member(errors, 'fields', m.fields, root.fields) ?? []).entries()) {
    const field = member(errors, `fields[${i}]`, templateFieldSchema, raw, () =>
      Object.keys(templateFieldSchema.shape),
    );
    // The name alone: a field refused for another member still counts for duplicates, constraints, defaults.
    const fieldName = templateFieldSchema.shape.name.safeParse(isObject(raw) ? raw.name : undefined);
    if (fieldName.success) {
      if (names.has(fieldName.data))
        errors.push(`fields[${i}].name: field "${fieldName.data}" appears twice`);
      names.add(fieldName.data);
    }
    if (field !== undefined) {
      checkOptions(errors, field, `fields[${i}]`);
      fields.push(field);
    }
  }
  const given =
    member(errors, 'constraints', m.constraints, root.constraints, () => [...CONSTRAINT_KEYS]) ?? {};
  const constraints = {
    required: given.required ?? [],
    readOnly: given.readOnly ?? [],
    invisible: given.invisible ?? [],
  };
  for (const key of CONSTRAINT_KEYS)
    for (const n of constraints[key])
      if (!names.has(n)) errors.push(`constraints.${key}: "${n}" is not a field of the template`);
  const defaults = member(errors, 'defaults', m.defaults, root.defaults) ?? {};
  for (const n of Object.keys(defaults))
    if (!names.has(n)) errors.push(`defaults.${n}: "${n}" is not a field of the template`);
  if (errors.length > 0 || name === undefined) return { ok: false, errors };
  return {
    ok: true,
    spec: normalizeSpec({
      name,
      description,
      contactFlowId,
      status: status ?? 'ACTIVE',
      fields,
      constraints,
      defaults,
    }),
  };
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
