/**
 * Task templates (Amazon Connect task template API reference): the CreateTaskTemplate/UpdateTaskTemplate request shape, its consistency
 * rules, the Get/List response shapes, and how a template fills and checks a task at StartTaskContact.
 *
 * How template fields map onto a task: a field of Type NAME, DESCRIPTION or SCHEDULED_TIME is the
 * task's Name, Description or ScheduledTime; any other field is a reference (or attribute) with the
 * field's name as its key (a value in Attributes under that name also counts). Defaults fill
 * fields the request left empty (absent or ''); required fields must then have a value. This is the
 * mapping the ingest validator (`lib/connect/validate-task.ts`) applies before the call.
 */
import { parseTimeInput } from '#lib/mapping/time.ts';
import type { JsonObject } from './check-input.ts';
import { invalidParameter } from './errors.ts';
import type { ContactReference } from './validate.ts';

/** A field reference; the model requires neither Id nor its Name inside Constraints and Defaults. */
interface FieldRef {
  Id?: { Name?: string };
}

/** A template field (its Type is one of the model's TaskTemplateFieldType values). */
interface TaskTemplateField {
  Id: { Name: string };
  Description?: string;
  Type?: string;
  SingleSelectOptions?: string[];
}

type TaskTemplateStatus = 'ACTIVE' | 'INACTIVE';

/** The content of a template, as stored. */
export interface TaskTemplateDefinition {
  Name: string;
  Description?: string;
  ContactFlowId?: string;
  SelfAssignFlowId?: string;
  Fields: TaskTemplateField[];
  Constraints: { RequiredFields: FieldRef[]; ReadOnlyFields: FieldRef[]; InvisibleFields: FieldRef[] };
  Defaults: { DefaultFieldValues: (FieldRef & { DefaultValue?: string })[] };
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

/** The request shape of the template content (already checked against the API model). */
interface TemplateInput {
  Name?: string;
  Description?: string;
  ContactFlowId?: string;
  SelfAssignFlowId?: string;
  Fields?: TaskTemplateField[];
  Constraints?: Partial<TaskTemplateDefinition['Constraints']>;
  Defaults?: Partial<TaskTemplateDefinition['Defaults']>;
  Status?: TaskTemplateStatus;
}

/** The content members of a request, those it leaves out empty; Name and Status come from `base`. */
function contentOf(input: TemplateInput, base: Pick<TaskTemplateDefinition, 'Name' | 'Status'>) {
  const definition: TaskTemplateDefinition = {
    Name: input.Name ?? base.Name,
    Description: input.Description,
    ContactFlowId: input.ContactFlowId,
    SelfAssignFlowId: input.SelfAssignFlowId,
    Fields: input.Fields ?? [],
    Constraints: {
      RequiredFields: input.Constraints?.RequiredFields ?? [],
      ReadOnlyFields: input.Constraints?.ReadOnlyFields ?? [],
      InvisibleFields: input.Constraints?.InvisibleFields ?? [],
    },
    Defaults: { DefaultFieldValues: input.Defaults?.DefaultFieldValues ?? [] },
    Status: input.Status ?? base.Status,
  };
  checkTemplateConsistency(definition);
  return definition;
}

/** CreateTaskTemplate body (checked against the model) → definition; Status defaults to ACTIVE. */
export function parseCreateTemplate(body: JsonObject): TaskTemplateDefinition {
  const input = body as TemplateInput;
  return contentOf(input, { Name: input.Name ?? '', Status: 'ACTIVE' });
}

/**
 * UpdateTaskTemplate: "does not support partial updates; it does a full update of template content"
 * (UpdateTaskTemplate API reference). Fields, Constraints, Defaults, Description and the flows are
 * replaced by the request's (absent → none). Name and Status, which every template has and the model
 * does not require here, keep their value when the request leaves them out.
 */
export function applyTemplateUpdate(
  current: TaskTemplateDefinition,
  body: JsonObject,
): TaskTemplateDefinition {
  return contentOf(body as TemplateInput, current);
}

/** Field names are unique within a template. */
function checkTemplateConsistency(definition: TaskTemplateDefinition): void {
  const names = new Set<string>();
  for (const field of definition.Fields) {
    if (names.has(field.Id.Name))
      throw invalidParameter(`Fields: field name "${field.Id.Name}" appears twice`);
    names.add(field.Id.Name);
  }
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

/** GetTaskTemplate / UpdateTaskTemplate response (timestamps in epoch seconds, as REST-JSON sends them). */
export function toTemplateResponse(template: TaskTemplate, withTags: boolean) {
  return {
    ...toTemplateSummary(template),
    InstanceId: template.InstanceId,
    ContactFlowId: template.ContactFlowId,
    SelfAssignFlowId: template.SelfAssignFlowId,
    Constraints: template.Constraints,
    Defaults: template.Defaults,
    Fields: template.Fields,
    ...(withTags && { Tags: {} }),
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

const REFERENCE_TYPE_OF_FIELD: Record<string, string> = {
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
function roleOf(template: TaskTemplateDefinition, fieldName: string): { role: FieldRole; type?: string } {
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
  for (const { Id, DefaultValue = '' } of template.Defaults.DefaultFieldValues) {
    if (Id?.Name === undefined) continue;
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
  const names = template.Constraints.RequiredFields.flatMap((ref) =>
    ref.Id?.Name === undefined ? [] : [ref.Id.Name],
  );
  return names.filter((name) => {
    const { role } = roleOf(template, name);
    if (role === 'Name') return isEmpty(content.Name);
    if (role === 'Description') return isEmpty(content.Description);
    if (role === 'ScheduledTime') return content.ScheduledTime === undefined;
    return isEmpty(content.References[name]?.Value) && isEmpty(content.Attributes[name]);
  });
}
