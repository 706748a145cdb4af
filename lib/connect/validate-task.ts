/**
 * Validates a StartTaskContact request against the documented constraints (StartTaskContact API reference) before the call.
 *
 * Every limit is read from the limits table (`lib/connect/constraints.ts`); the sandbox's Connect
 * emulator validates with the same table and the same byte counters exported here
 * (`attributesBytes`, `referencesBytes`), so the emulator refuses exactly what this refuses.
 *
 * Units:
 * - "characters" (Name, Description, ids, keys, values) are UTF-16 code units (`string.length`), the
 *   unit of the service's Java models. Truncation never splits a surrogate pair.
 * - Attributes budget: UTF-8 bytes of every key plus every value.
 * - References budget: UTF-8 bytes of every key plus every `Value` plus every `Type`. The documents
 *   do not say what "bytes across all references" counts; counting the type too is the conservative
 *   reading (we never send what the service might refuse).
 *
 * Task templates (when `TaskTemplateId` is set and a template view is given): refused when INACTIVE
 * ("Tasks can only be created from ACTIVE templates", Amazon Connect task template API reference), or when the template has no flow and
 * the request names no other target (StartTaskContact API reference). Defaults fill missing fields, then every RequiredFields
 * entry must have a value. Template field → request field, by the field's `Type` in `Fields`:
 * NAME → Name, DESCRIPTION → Description, SCHEDULED_TIME → ScheduledTime; any other field is a
 * reference keyed by the field name (a value in `Attributes` under that name also satisfies a required
 * field). A field not listed in `Fields` whose name is "Name", "Description" or "Scheduled time"
 * (case, spaces and underscores ignored) maps to that request field. Defaults for custom fields become
 * references typed from the field type: URL → URL, NUMBER → NUMBER, EMAIL → EMAIL, DATE_TIME → DATE
 * (converted to epoch seconds), anything else → STRING.
 */
import type {
  GetTaskTemplateCommandOutput,
  Reference,
  StartTaskContactCommandInput,
} from '@aws-sdk/client-connect';
import { type TaskLimits, utf8Bytes } from '#lib/connect/constraints.ts';
import { isObject } from '#lib/guards.ts';
import { parseTimeInput } from '#lib/mapping/time.ts';

export interface ValidationIssue {
  /** The request field at fault: `Name`, `Attributes.orderId`, `References.link`, `ScheduledTime`... */
  field: string;
  /** The `TaskLimits` key of the violated limit, when there is one. */
  limit?: string;
  /** Names the field and the limit, e.g. "Description: 5000 characters exceeds the limit of 4096". */
  message: string;
}

export type TaskTemplateView = Pick<
  GetTaskTemplateCommandOutput,
  'Id' | 'Status' | 'ContactFlowId' | 'Fields' | 'Constraints' | 'Defaults'
>;

export interface ValidateTaskOptions {
  limits: TaskLimits;
  /** Epoch ms; ScheduledTime is checked against it. */
  now: number;
  /** Cut Name/Description to their limits instead of refusing. */
  truncate: boolean;
  template?: TaskTemplateView;
}

export type TaskValidation =
  | { ok: true; request: StartTaskContactCommandInput; truncated: string[] }
  | { ok: false; issues: ValidationIssue[] };

const TARGETS = ['ContactFlowId', 'QuickConnectId', 'TaskTemplateId'] as const;
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const EPOCH = /^-?\d{1,15}$/;
/** Longest key echoed in an issue; keys are rule-defined but may be long. */
const KEY_ECHO = 64;

/** UTF-8 bytes of all attribute keys and values (the 32,768-byte budget). */
export function attributesBytes(attrs: Record<string, string> | undefined): number {
  let total = 0;
  if (attrs === undefined) return total;
  for (const key of Object.keys(attrs)) total += utf8Bytes(key) + utf8Bytes(String(attrs[key] ?? ''));
  return total;
}

/** UTF-8 bytes of all reference keys, values and types (the 4,096-byte budget). */
export function referencesBytes(refs: Record<string, Reference> | undefined): number {
  let total = 0;
  if (refs === undefined) return total;
  for (const key of Object.keys(refs)) {
    const ref = refs[key];
    total += utf8Bytes(key) + utf8Bytes(String(ref?.Value ?? '')) + utf8Bytes(String(ref?.Type ?? ''));
  }
  return total;
}

/** Cuts to at most `max` UTF-16 code units without leaving half a surrogate pair at the end. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max;
  const last = text.charCodeAt(cut - 1);
  if (cut > 0 && last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return text.slice(0, cut);
}

function echoKey(key: string): string {
  return key.length <= KEY_ECHO ? key : `${key.slice(0, KEY_ECHO)}…`;
}

function isWellFormedUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol, hostname } = new URL(value);
  return (protocol === 'https:' || protocol === 'http:') && hostname !== '';
}

type Slot =
  | { kind: 'Name' | 'Description' | 'ScheduledTime' }
  | { kind: 'custom'; name: string; refType: 'URL' | 'NUMBER' | 'STRING' | 'DATE' | 'EMAIL' };

function slotOf(name: string, template: TaskTemplateView): Slot {
  const type = template.Fields?.find((f) => f.Id?.Name === name)?.Type;
  switch (type) {
    case 'NAME':
      return { kind: 'Name' };
    case 'DESCRIPTION':
      return { kind: 'Description' };
    case 'SCHEDULED_TIME':
      return { kind: 'ScheduledTime' };
    case 'URL':
    case 'NUMBER':
    case 'EMAIL':
      return { kind: 'custom', name, refType: type };
    case 'DATE_TIME':
      return { kind: 'custom', name, refType: 'DATE' };
    case undefined: {
      const normal = name.toLowerCase().replace(/[\s_]/g, '');
      if (normal === 'name') return { kind: 'Name' };
      if (normal === 'description') return { kind: 'Description' };
      if (normal === 'scheduledtime') return { kind: 'ScheduledTime' };
      return { kind: 'custom', name, refType: 'STRING' };
    }
    default:
      return { kind: 'custom', name, refType: 'STRING' };
  }
}

function slotField(slot: Slot): string {
  return slot.kind === 'custom' ? `References.${echoKey(slot.name)}` : slot.kind;
}

function hasValue(req: StartTaskContactCommandInput, slot: Slot): boolean {
  switch (slot.kind) {
    case 'Name':
      return typeof req.Name === 'string' && req.Name !== '';
    case 'Description':
      return typeof req.Description === 'string' && req.Description !== '';
    case 'ScheduledTime':
      return req.ScheduledTime !== undefined;
    case 'custom': {
      const ref = req.References?.[slot.name]?.Value;
      const attr = req.Attributes?.[slot.name];
      return (typeof ref === 'string' && ref !== '') || (typeof attr === 'string' && attr !== '');
    }
  }
}

/** Applies template defaults to missing fields of `req` (a copy) and checks required fields. */
function applyTemplate(
  req: StartTaskContactCommandInput,
  template: TaskTemplateView,
  issues: ValidationIssue[],
): void {
  const id = req.TaskTemplateId;
  if (template.Id !== undefined && template.Id !== id) {
    issues.push({
      field: 'TaskTemplateId',
      message: 'TaskTemplateId: the template given is a different template',
    });
    return;
  }
  if (template.Status === 'INACTIVE') {
    issues.push({
      field: 'TaskTemplateId',
      message:
        'TaskTemplateId: the task template is INACTIVE; tasks can only be created from ACTIVE templates',
    });
  }
  if (!template.ContactFlowId && !req.ContactFlowId && !req.QuickConnectId) {
    issues.push({
      field: 'TaskTemplateId',
      message:
        'TaskTemplateId: the task template has no flow configured and the request names no other flow target',
    });
  }
  for (const entry of template.Defaults?.DefaultFieldValues ?? []) {
    const name = entry.Id?.Name;
    const value = entry.DefaultValue;
    if (name === undefined || value === undefined) continue;
    const slot = slotOf(name, template);
    if (hasValue(req, slot)) continue;
    switch (slot.kind) {
      case 'Name':
        req.Name = value;
        break;
      case 'Description':
        req.Description = value;
        break;
      case 'ScheduledTime': {
        const ms = parseTimeInput(value);
        if (ms === undefined) {
          issues.push({
            field: 'ScheduledTime',
            message: `ScheduledTime: the template default for "${echoKey(name)}" is not an ISO-8601 time or epoch number`,
          });
        } else {
          req.ScheduledTime = new Date(ms);
        }
        break;
      }
      case 'custom': {
        let refValue = value;
        if (slot.refType === 'DATE') {
          const ms = parseTimeInput(value);
          if (ms !== undefined) refValue = String(Math.floor(ms / 1000));
        }
        req.References = { ...req.References, [slot.name]: { Type: slot.refType, Value: refValue } };
        break;
      }
    }
  }
  for (const entry of template.Constraints?.RequiredFields ?? []) {
    const name = entry.Id?.Name;
    if (name === undefined) continue;
    const slot = slotOf(name, template);
    if (!hasValue(req, slot)) {
      issues.push({
        field: slotField(slot),
        message: `${slotField(slot)}: template field "${echoKey(name)}" is required by the task template and has no value`,
      });
    }
  }
}

function checkLength(
  issues: ValidationIssue[],
  field: string,
  value: unknown,
  bounds: { min?: number; max: number; minLimit?: keyof TaskLimits; maxLimit: keyof TaskLimits },
): void {
  if (typeof value !== 'string') {
    issues.push({ field, message: `${field}: must be a string` });
    return;
  }
  if (bounds.min !== undefined && value.length < bounds.min) {
    issues.push({
      field,
      limit: bounds.minLimit,
      message: `${field}: ${value.length} characters is below the minimum of ${bounds.min}`,
    });
  }
  if (value.length > bounds.max) {
    issues.push({
      field,
      limit: bounds.maxLimit,
      message: `${field}: ${value.length} characters exceeds the limit of ${bounds.max}`,
    });
  }
}

function checkAttributes(issues: ValidationIssue[], attrs: unknown, limits: TaskLimits): void {
  if (attrs === undefined) return;
  if (!isObject(attrs)) {
    issues.push({ field: 'Attributes', message: 'Attributes: must be a map of strings' });
    return;
  }
  const map = attrs;
  let allStrings = true;
  for (const key of Object.keys(map)) {
    const field = `Attributes.${echoKey(key)}`;
    if (!limits.attributeKeyPattern.test(key)) {
      issues.push({
        field,
        limit: 'attributeKeyPattern',
        message: `${field}: attribute keys can include only alphanumeric, dash, and underscore characters`,
      });
    }
    checkKeyLength(issues, field, key, limits, 'attributeKeyMaxLength');
    const value = map[key];
    if (typeof value !== 'string') {
      allStrings = false;
      issues.push({ field, message: `${field}: value must be a string` });
    } else if (value.length > limits.attributeValueMaxLength) {
      issues.push({
        field,
        limit: 'attributeValueMaxLength',
        message: `${field}: value of ${value.length} characters exceeds the limit of ${limits.attributeValueMaxLength}`,
      });
    }
  }
  if (!allStrings) return;
  const bytes = attributesBytes(map as Record<string, string>);
  checkTotalBytes(issues, 'Attributes', 'key-value pairs', bytes, limits, 'attributesMaxTotalBytes');
}

/** A map whose entries together exceed their UTF-8 byte limit is one issue naming that limit. */
function checkTotalBytes(
  issues: ValidationIssue[],
  field: 'Attributes' | 'References',
  entries: string,
  bytes: number,
  limits: TaskLimits,
  limit: 'attributesMaxTotalBytes' | 'referencesMaxTotalBytes',
): void {
  const max = limits[limit];
  if (bytes > max) {
    issues.push({
      field,
      limit,
      message: `${field}: ${bytes} UTF-8 bytes across all ${entries} exceeds the limit of ${max}`,
    });
  }
}

/** A map key longer than its limit is one issue naming that limit. */
function checkKeyLength(
  issues: ValidationIssue[],
  field: string,
  key: string,
  limits: TaskLimits,
  limit: 'attributeKeyMaxLength' | 'referenceKeyMaxLength',
): void {
  const max = limits[limit];
  if (key.length > max) {
    issues.push({
      field,
      limit,
      message: `${field}: key of ${key.length} characters exceeds the limit of ${max}`,
    });
  }
}

function checkReferenceValue(issues: ValidationIssue[], field: string, type: string, value: string): void {
  switch (type) {
    case 'DATE':
      if (!EPOCH.test(value)) {
        issues.push({ field, message: `${field}: a DATE reference must be an epoch timestamp (seconds)` });
      }
      break;
    case 'URL':
      if (!isWellFormedUrl(value)) issues.push({ field, message: `${field}: not a well-formed http(s) URL` });
      break;
    case 'EMAIL':
      if (value.length > 254 || !EMAIL.test(value)) {
        issues.push({ field, message: `${field}: not a well-formed email address` });
      }
      break;
    case 'NUMBER':
      if (!NUMBER.test(value) || !Number.isFinite(Number(value))) {
        issues.push({ field, message: `${field}: not a well-formed number` });
      }
      break;
    default:
      break;
  }
}

function checkReferences(
  issues: ValidationIssue[],
  refs: unknown,
  limits: TaskLimits,
  at: 'creation' | 'update' = 'creation',
): void {
  if (refs === undefined) return;
  if (!isObject(refs)) {
    issues.push({ field: 'References', message: 'References: must be a map of {Type, Value}' });
    return;
  }
  const map = refs;
  const allowed: readonly string[] =
    at === 'creation' ? limits.referenceTypesAtCreation : limits.referenceTypesAtUpdate;
  let wellShaped = true;
  for (const key of Object.keys(map)) {
    const field = `References.${echoKey(key)}`;
    if (key.length === 0) {
      issues.push({ field, message: `${field}: key must have at least 1 character` });
    }
    checkKeyLength(issues, field, key, limits, 'referenceKeyMaxLength');
    const ref = map[key];
    if (typeof ref !== 'object' || ref === null) {
      wellShaped = false;
      issues.push({ field, message: `${field}: must be {Type, Value}` });
      continue;
    }
    const { Type: type, Value: value } = ref as { Type?: unknown; Value?: unknown };
    if (typeof type !== 'string' || !allowed.includes(type)) {
      issues.push({
        field,
        limit: at === 'creation' ? 'referenceTypesAtCreation' : 'referenceTypesAtUpdate',
        message:
          type === 'ATTACHMENT' && at === 'creation'
            ? `${field}: ATTACHMENT is not a supported reference type during task creation`
            : `${field}: type must be one of ${allowed.join(', ')}`,
      });
    }
    if (typeof value !== 'string') {
      wellShaped = false;
      issues.push({ field, message: `${field}: Value is required and must be a string` });
    } else if (typeof type === 'string') {
      checkReferenceValue(issues, field, type, value);
    }
  }
  if (!wellShaped) return;
  const bytes = referencesBytes(map as Record<string, Reference>);
  checkTotalBytes(issues, 'References', 'references', bytes, limits, 'referencesMaxTotalBytes');
}

function checkScheduledTime(issues: ValidationIssue[], value: unknown, opts: ValidateTaskOptions): void {
  if (value === undefined) return;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    issues.push({ field: 'ScheduledTime', message: 'ScheduledTime: must be a valid Date' });
    return;
  }
  const at = value.getTime();
  const maxAhead = opts.limits.scheduledTimeMaxAheadSeconds;
  if (at < opts.now) {
    issues.push({
      field: 'ScheduledTime',
      message: `ScheduledTime: ${Math.ceil((opts.now - at) / 1000)} seconds in the past; the scheduled time cannot be in the past`,
    });
  } else if (at > opts.now + maxAhead * 1000) {
    issues.push({
      field: 'ScheduledTime',
      limit: 'scheduledTimeMaxAheadSeconds',
      message: `ScheduledTime: ${Math.floor((at - opts.now) / 1000)} seconds ahead exceeds the limit of ${maxAhead}`,
    });
  }
}

/**
 * Cuts Name and Description to their limits in place (a rule's `options.truncate`), for creation
 * and update alike. Output: the fields that were cut.
 */
function truncateNameAndDescription(
  req: { Name?: string; Description?: string },
  limits: TaskLimits,
): string[] {
  const cut: string[] = [];
  if (typeof req.Name === 'string' && req.Name.length > limits.nameMaxLength) {
    req.Name = truncateText(req.Name, limits.nameMaxLength);
    cut.push('Name');
  }
  if (typeof req.Description === 'string' && req.Description.length > limits.descriptionMaxLength) {
    req.Description = truncateText(req.Description, limits.descriptionMaxLength);
    cut.push('Description');
  }
  return cut;
}

/**
 * Validates (and with `truncate`, repairs) one StartTaskContact request.
 *
 * Input: the request, the limits table, `now` (epoch ms), the rule's truncate option and, for
 * TaskTemplateId requests, the template (GetTaskTemplate output).
 * Output: `{ok: true, request, truncated}` — a copy with template defaults applied and, when
 * truncating, Name/Description cut (their names listed in `truncated`) — or `{ok: false, issues}`
 * with every violated constraint, each naming its field and limit.
 * The input request is never mutated.
 */
export function validateTaskRequest(
  request: StartTaskContactCommandInput,
  opts: ValidateTaskOptions,
): TaskValidation {
  const { limits } = opts;
  const issues: ValidationIssue[] = [];
  const truncated: string[] = [];
  const req: StartTaskContactCommandInput = { ...request };

  if (opts.template !== undefined && req.TaskTemplateId) applyTemplate(req, opts.template, issues);

  if (opts.truncate) truncated.push(...truncateNameAndDescription(req, limits));

  if (req.InstanceId === undefined || req.InstanceId === '') {
    issues.push({ field: 'InstanceId', message: 'InstanceId: required' });
  } else {
    checkLength(issues, 'InstanceId', req.InstanceId, {
      min: limits.instanceIdMinLength,
      max: limits.instanceIdMaxLength,
      minLimit: 'instanceIdMinLength',
      maxLimit: 'instanceIdMaxLength',
    });
  }
  if (req.Name === undefined) {
    issues.push({ field: 'Name', message: 'Name: required' });
  } else {
    checkLength(issues, 'Name', req.Name, { max: limits.nameMaxLength, maxLimit: 'nameMaxLength' });
  }
  if (req.Description !== undefined) {
    checkLength(issues, 'Description', req.Description, {
      max: limits.descriptionMaxLength,
      maxLimit: 'descriptionMaxLength',
    });
  }
  if (req.ClientToken !== undefined) {
    checkLength(issues, 'ClientToken', req.ClientToken, {
      max: limits.clientTokenMaxLength,
      maxLimit: 'clientTokenMaxLength',
    });
  }

  const targets = TARGETS.filter((t) => req[t] !== undefined && req[t] !== '');
  if (targets.length === 0) {
    issues.push({
      field: 'ContactFlowId',
      message: 'ContactFlowId: one of ContactFlowId, QuickConnectId or TaskTemplateId is required',
    });
  } else if (targets.length > 1) {
    issues.push({
      field: targets.join('|'),
      message: `${targets.join(', ')}: include only one of ContactFlowId, QuickConnectId or TaskTemplateId`,
    });
  }
  // The StartTaskContact API reference gives 500 characters for ContactFlowId only; the other flow-target ids share that bound.
  for (const target of targets) {
    checkLength(issues, target, req[target], {
      max: limits.contactFlowIdMaxLength,
      maxLimit: 'contactFlowIdMaxLength',
    });
  }
  for (const field of ['PreviousContactId', 'RelatedContactId'] as const) {
    if (req[field] === undefined) continue;
    checkLength(issues, field, req[field], {
      min: limits.contactIdMinLength,
      max: limits.contactIdMaxLength,
      minLimit: 'contactIdMinLength',
      maxLimit: 'contactIdMaxLength',
    });
  }

  checkAttributes(issues, req.Attributes, limits);
  checkReferences(issues, req.References, limits);
  checkScheduledTime(issues, req.ScheduledTime, opts);

  return issues.length === 0 ? { ok: true, request: req, truncated } : { ok: false, issues };
}

/** What an `update` rule sends to UpdateContact (besides InstanceId and ContactId). */
export interface ContactUpdateFields {
  Name?: string;
  Description?: string;
  References?: Record<string, Reference>;
}

export type ContactUpdateValidation =
  | { ok: true; request: ContactUpdateFields; truncated: string[] }
  | { ok: false; issues: ValidationIssue[] };

/**
 * Validates (and with `truncate`, repairs) the fields of one UpdateContact request with the same
 * limits as creation: Name 512 and Description 4,096 characters, References (the types UpdateContact
 * takes: ATTACHMENT too, `referenceTypesAtUpdate`), each value's shape and the 4,096-byte budget.
 * UpdateContact needs at least one field. The input is never mutated.
 */
export function validateContactUpdate(
  request: ContactUpdateFields,
  opts: { limits: TaskLimits; truncate?: boolean },
): ContactUpdateValidation {
  const { limits } = opts;
  const issues: ValidationIssue[] = [];
  const truncated: string[] = [];
  const req: ContactUpdateFields = { ...request };
  if (opts.truncate) truncated.push(...truncateNameAndDescription(req, limits));
  if (req.Name === undefined && req.Description === undefined && req.References === undefined) {
    issues.push({
      field: 'Name',
      message: 'UpdateContact: at least one of Name, Description or References must have a value',
    });
  }
  if (req.Name !== undefined) {
    checkLength(issues, 'Name', req.Name, { max: limits.nameMaxLength, maxLimit: 'nameMaxLength' });
  }
  if (req.Description !== undefined) {
    checkLength(issues, 'Description', req.Description, {
      max: limits.descriptionMaxLength,
      maxLimit: 'descriptionMaxLength',
    });
  }
  checkReferences(issues, req.References, limits, 'update');
  return issues.length === 0 ? { ok: true, request: req, truncated } : { ok: false, issues };
}
