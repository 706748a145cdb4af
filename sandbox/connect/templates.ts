/**
 * Task templates (004): the CreateTaskTemplate/UpdateTaskTemplate request shape, its consistency
 * rules, the Get/List response shapes, and how a template fills and checks a task at StartTaskContact.
 *
 * How template fields map onto a task: a field of Type NAME, DESCRIPTION or SCHEDULED_TIME is the
 * task's Name, Description or ScheduledTime; any other field is a reference (or attribute) with the
 * field's name as its key (a value in Attributes under that name also counts). Defaults fill
 * fields the request left empty (absent or ''); required fields must then have a value. This is the
 * mapping the ingest validator (`lib/connect/validate-task.ts`) applies before the call.
 */
import { z } from 'zod';
import {
  type ReferenceType,
  TEMPLATE_FIELD_TYPES,
  type TemplateFieldType,
} from '#lib/connect/constraints.ts';
import { parseTimeInput } from '#lib/mapping/time.ts';
import { invalidParameter } from './errors.ts';
import type { ContactReference } from './validate.ts';

const fieldId = z.object({ Name: z.string().min(1, 'a field Name must not be empty') });
const fieldRef = z.object({ Id: fieldId });

const fieldSchema = z.object({
  Id: fieldId,
  Description: z.string().optional(),
  Type: z.enum(TEMPLATE_FIELD_TYPES).optional(),
  SingleSelectOptions: z.array(z.string()).optional(),
});

const constraintsSchema = z.object({
  RequiredFields: z.array(fieldRef).optional(),
  ReadOnlyFields: z.array(fieldRef).optional(),
  InvisibleFields: z.array(fieldRef).optional(),
});

const defaultsSchema = z.object({
  DefaultFieldValues: z.array(z.object({ Id: fieldId, DefaultValue: z.string() })).optional(),
});

const status = z.enum(['ACTIVE', 'INACTIVE']);

const createSchema = z.object({
  Name: z.string().min(1, 'Name is required'),
  Description: z.string().optional(),
  ContactFlowId: z.string().min(1).optional(),
  Fields: z.array(fieldSchema),
  Constraints: constraintsSchema.optional(),
  Defaults: defaultsSchema.optional(),
  Status: status.optional(),
  ClientToken: z.string().optional(),
});

const updateSchema = createSchema.partial().omit({ ClientToken: true });

export type TaskTemplateField = z.infer<typeof fieldSchema>;
export type TaskTemplateStatus = z.infer<typeof status>;
interface FieldRef {
  Id: { Name: string };
}

/** The content of a template, as stored. */
export interface TaskTemplateDefinition {
  Name: string;
  Description?: string;
  ContactFlowId?: string;
  Fields: TaskTemplateField[];
  Constraints: { RequiredFields: FieldRef[]; ReadOnlyFields: FieldRef[]; InvisibleFields: FieldRef[] };
  Defaults: { DefaultFieldValues: { Id: { Name: string }; DefaultValue: string }[] };
  Status: TaskTemplateStatus;
}

export interface TaskTemplate extends TaskTemplateDefinition {
  Id: string;
  Arn: string;
  InstanceId: string;
  /** Epoch milliseconds. */
  CreatedTime: number;
  LastModifiedTime: number;
}

function parseWith<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'request';
    throw invalidParameter(`${what}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** CreateTaskTemplate body → definition (+ ClientToken). Throws InvalidParameterException. */
export function parseCreateTemplate(body: unknown): {
  definition: TaskTemplateDefinition;
  clientToken?: string;
} {
  const input = parseWith(createSchema, body, 'CreateTaskTemplate');
  const definition: TaskTemplateDefinition = {
    Name: input.Name,
    Description: input.Description,
    ContactFlowId: input.ContactFlowId,
    Fields: input.Fields,
    Constraints: {
      RequiredFields: input.Constraints?.RequiredFields ?? [],
      ReadOnlyFields: input.Constraints?.ReadOnlyFields ?? [],
      InvisibleFields: input.Constraints?.InvisibleFields ?? [],
    },
    Defaults: { DefaultFieldValues: input.Defaults?.DefaultFieldValues ?? [] },
    Status: input.Status ?? 'ACTIVE',
  };
  checkTemplateConsistency(definition);
  return { definition, clientToken: input.ClientToken };
}

/**
 * UpdateTaskTemplate body applied to a stored definition. Each top-level member present in the
 * request replaces the stored one as a whole (Fields, Constraints and Defaults are not merged item by
 * item); members left out keep their value.
 */
export function applyTemplateUpdate(current: TaskTemplateDefinition, body: unknown): TaskTemplateDefinition {
  const input = parseWith(updateSchema, body, 'UpdateTaskTemplate');
  const next: TaskTemplateDefinition = {
    ...current,
    ...(input.Name !== undefined && { Name: input.Name }),
    ...(input.Description !== undefined && { Description: input.Description }),
    ...(input.ContactFlowId !== undefined && { ContactFlowId: input.ContactFlowId }),
    ...(input.Fields !== undefined && { Fields: input.Fields }),
    ...(input.Status !== undefined && { Status: input.Status }),
  };
  if (input.Constraints !== undefined) {
    next.Constraints = {
      RequiredFields: input.Constraints.RequiredFields ?? [],
      ReadOnlyFields: input.Constraints.ReadOnlyFields ?? [],
      InvisibleFields: input.Constraints.InvisibleFields ?? [],
    };
  }
  if (input.Defaults !== undefined)
    next.Defaults = { DefaultFieldValues: input.Defaults.DefaultFieldValues ?? [] };
  checkTemplateConsistency(next);
  return next;
}

/** Field names are unique within a template. */
export function checkTemplateConsistency(definition: TaskTemplateDefinition): void {
  const names = new Set<string>();
  for (const field of definition.Fields) {
    if (names.has(field.Id.Name))
      throw invalidParameter(`Fields: field name "${field.Id.Name}" appears twice`);
    names.add(field.Id.Name);
  }
}

/** GetTaskTemplate / UpdateTaskTemplate response (timestamps in epoch seconds, as REST-JSON sends them). */
export function toTemplateResponse(template: TaskTemplate, withTags: boolean) {
  return {
    InstanceId: template.InstanceId,
    Id: template.Id,
    Arn: template.Arn,
    Name: template.Name,
    Description: template.Description,
    ContactFlowId: template.ContactFlowId,
    Constraints: template.Constraints,
    Defaults: template.Defaults,
    Fields: template.Fields,
    Status: template.Status,
    LastModifiedTime: template.LastModifiedTime / 1000,
    CreatedTime: template.CreatedTime / 1000,
    ...(withTags && { Tags: {} }),
  };
}

export function toTemplateSummary(template: TaskTemplate) {
  return {
    Id: template.Id,
    Arn: template.Arn,
    Name: template.Name,
    Description: template.Description,
    Status: template.Status,
    LastModifiedTime: template.LastModifiedTime / 1000,
    CreatedTime: template.CreatedTime / 1000,
  };
}

/** The task content a template reads and fills. */
export interface TaskContent {
  Name?: string;
  Description?: string;
  /** Epoch seconds. */
  ScheduledTime?: number;
  Attributes: Record<string, string>;
  References: Record<string, ContactReference>;
}

const REFERENCE_TYPE_OF_FIELD: Partial<Record<TemplateFieldType, ReferenceType>> = {
  URL: 'URL',
  NUMBER: 'NUMBER',
  EMAIL: 'EMAIL',
  DATE_TIME: 'DATE',
};

type FieldRole = 'Name' | 'Description' | 'ScheduledTime' | 'Reference';

/**
 * What a template field is on the task: by its Type in Fields; a name not listed in Fields that reads
 * "Name", "Description" or "Scheduled time" (case, spaces and underscores ignored) is that system
 * field, as the ingest validator reads it.
 */
function roleOf(
  template: TaskTemplateDefinition,
  fieldName: string,
): { role: FieldRole; type?: TemplateFieldType } {
  const field = template.Fields.find((f) => f.Id.Name === fieldName);
  const type = field?.Type;
  if (type === 'NAME') return { role: 'Name', type };
  if (type === 'DESCRIPTION') return { role: 'Description', type };
  if (type === 'SCHEDULED_TIME') return { role: 'ScheduledTime', type };
  if (!field) {
    const normal = fieldName.toLowerCase().replace(/[\s_]/g, '');
    if (normal === 'name') return { role: 'Name' };
    if (normal === 'description') return { role: 'Description' };
    if (normal === 'scheduledtime') return { role: 'ScheduledTime' };
  }
  return { role: 'Reference', type };
}

/** A template default that is a time (ISO-8601 or epoch seconds/milliseconds) → epoch seconds. */
function defaultTimeSeconds(fieldName: string, value: string): number {
  const ms = parseTimeInput(value);
  if (ms === undefined) {
    throw invalidParameter(`task template default for "${fieldName}" is not a time (ISO-8601 or epoch)`);
  }
  return ms / 1000;
}

const isEmpty = (value: string | undefined) => value === undefined || value === '';

/** Fills the fields the request left empty (undefined or '') with the template's defaults. */
export function applyTemplateDefaults(template: TaskTemplateDefinition, content: TaskContent): TaskContent {
  const out: TaskContent = {
    ...content,
    Attributes: { ...content.Attributes },
    References: { ...content.References },
  };
  for (const { Id, DefaultValue } of template.Defaults.DefaultFieldValues) {
    const { role, type } = roleOf(template, Id.Name);
    if (role === 'Name' && isEmpty(out.Name)) out.Name = DefaultValue;
    else if (role === 'Description' && isEmpty(out.Description)) out.Description = DefaultValue;
    else if (role === 'ScheduledTime' && out.ScheduledTime === undefined) {
      out.ScheduledTime = defaultTimeSeconds(Id.Name, DefaultValue);
    } else if (
      role === 'Reference' &&
      isEmpty(out.References[Id.Name]?.Value) &&
      isEmpty(out.Attributes[Id.Name])
    ) {
      const referenceType = (type && REFERENCE_TYPE_OF_FIELD[type]) ?? 'STRING';
      out.References[Id.Name] = {
        Type: referenceType,
        Value:
          referenceType === 'DATE'
            ? String(Math.floor(defaultTimeSeconds(Id.Name, DefaultValue)))
            : DefaultValue,
      };
    }
  }
  return out;
}

/** Names of the template's required fields that have no value in the (defaulted) task. */
export function missingRequiredFields(template: TaskTemplateDefinition, content: TaskContent): string[] {
  return template.Constraints.RequiredFields.map((ref) => ref.Id.Name).filter((name) => {
    const { role } = roleOf(template, name);
    if (role === 'Name') return isEmpty(content.Name);
    if (role === 'Description') return isEmpty(content.Description);
    if (role === 'ScheduledTime') return content.ScheduledTime === undefined;
    return isEmpty(content.References[name]?.Value) && isEmpty(content.Attributes[name]);
  });
}
