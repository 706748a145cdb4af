/**
 * Checks a rule against the task template it targets, statically (no event needed): what
 * `task-ingest rules validate --template-file/--fetch-template` reports.
 *
 * Template field → task member as the ingest validator reads it (`lib/connect/validate-task.ts`):
 * NAME → Name, DESCRIPTION → Description, SCHEDULED_TIME → ScheduledTime, any other field → the
 * reference (or attribute) keyed by the field's name; an untyped field named "Name", "Description" or
 * "Scheduled time" is that member.
 *
 * Errors: the template is INACTIVE; it has no flow (the rule targets only the template); a required
 * field neither mapped by the rule nor defaulted by the template; a reference typed unlike its field
 * (NUMBER ↔ NUMBER, URL ↔ URL, EMAIL ↔ EMAIL, DATE_TIME ↔ DATE, other fields ↔ STRING); a value
 * expression whose result is known statically and does not fit the field (a constant that is not a
 * number for NUMBER, not a time for DATE_TIME/SCHEDULED_TIME, not a URL/e-mail, not an option of a
 * SINGLE_SELECT, not true/false for BOOLEAN; a comparison, object or array for a typed field; a
 * string concatenation `&` for NUMBER).
 * Warnings: a required field that only `attributesFrom` might fill (not knowable statically); a
 * reference the template has no field for.
 */
import jsonata from 'jsonata';
import type { TemplateFieldType } from '#lib/connect/constraints.ts';
import type { TemplateSpec } from '#lib/connect/template-spec.ts';
import { parseTimeInput } from '#lib/mapping/time.ts';
import type { CreateRule } from '#lib/rules/schema.ts';

export interface RuleTemplateCheck {
  errors: string[];
  warnings: string[];
}

type Slot = 'Name' | 'Description' | 'ScheduledTime' | 'custom';

function slotOf(spec: TemplateSpec, name: string): { slot: Slot; type?: TemplateFieldType } {
  const type = spec.fields.find((f) => f.name === name)?.type;
  if (type === 'NAME') return { slot: 'Name', type };
  if (type === 'DESCRIPTION') return { slot: 'Description', type };
  if (type === 'SCHEDULED_TIME') return { slot: 'ScheduledTime', type };
  if (type === undefined) {
    const normal = name.toLowerCase().replace(/[\s_]/g, '');
    if (normal === 'name') return { slot: 'Name' };
    if (normal === 'description') return { slot: 'Description' };
    if (normal === 'scheduledtime') return { slot: 'ScheduledTime' };
  }
  return { slot: 'custom', ...(type === undefined ? {} : { type }) };
}

const REFERENCE_TYPE: Partial<Record<TemplateFieldType, string>> = {
  NUMBER: 'NUMBER',
  URL: 'URL',
  EMAIL: 'EMAIL',
  DATE_TIME: 'DATE',
};
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const EMAIL = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** What an expression gives, when that is known without an event. */
type Known =
  | { kind: 'constant'; value: unknown }
  | { kind: 'text' }
  | { kind: 'boolean' }
  | { kind: 'object' }
  | { kind: 'array' }
  | { kind: 'unknown' };

type Node = {
  type: string;
  value?: unknown;
  lhs?: Node;
  rhs?: Node;
  expressions?: Node[];
  procedure?: Node;
} & Record<string, unknown>;

const CONSTANT_TYPES = new Set(['string', 'number', 'value', 'binary', 'unary', 'condition', 'block']);

function isConstant(node: unknown): boolean {
  if (node === null || typeof node !== 'object') return true;
  if (Array.isArray(node)) return node.every(isConstant);
  const n = node as Node;
  if (typeof n.type === 'string' && !CONSTANT_TYPES.has(n.type)) return false;
  return Object.entries(n).every(([key, value]) => key === 'position' || isConstant(value));
}

async function knownResult(text: string): Promise<Known> {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(text);
  } catch {
    return { kind: 'unknown' };
  }
  const ast = expression.ast() as unknown as Node;
  if (isConstant(ast)) {
    try {
      return { kind: 'constant', value: await expression.evaluate({}) };
    } catch {
      return { kind: 'unknown' };
    }
  }
  if (ast.type === 'binary') {
    if (ast.value === '&') return { kind: 'text' };
    if (['=', '!=', '<', '<=', '>', '>=', 'and', 'or', 'in'].includes(String(ast.value)))
      return { kind: 'boolean' };
  }
  if (ast.type === 'unary' && ast.value === '{') return { kind: 'object' };
  if (ast.type === 'unary' && ast.value === '[') return { kind: 'array' };
  return { kind: 'unknown' };
}

/** Why `known` cannot be a value of a field of `type` (undefined: it fits or cannot be told). */
function misfit(
  type: TemplateFieldType | 'SCHEDULED_TIME' | undefined,
  known: Known,
  options: readonly string[] | undefined,
): string | undefined {
  if (type === undefined) return undefined;
  const strict = type !== 'TEXT' && type !== 'TEXT_AREA' && type !== 'NAME' && type !== 'DESCRIPTION';
  if (known.kind === 'boolean' && strict && type !== 'BOOLEAN') return 'gives true/false (a comparison)';
  if ((known.kind === 'object' || known.kind === 'array') && strict) return `gives an ${known.kind}`;
  if (known.kind === 'text' && type === 'NUMBER') return 'gives text (a & concatenation), not a number';
  if (known.kind !== 'constant' || known.value === undefined || known.value === null) return undefined;
  const value = known.value;
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  if (text === undefined) return strict ? `gives ${JSON.stringify(value)}` : undefined;
  switch (type) {
    case 'NUMBER':
      return NUMBER.test(text) ? undefined : `gives ${JSON.stringify(value)}, not a number`;
    case 'DATE_TIME':
    case 'SCHEDULED_TIME':
      return parseTimeInput(typeof value === 'number' ? value : text) !== undefined
        ? undefined
        : `gives ${JSON.stringify(value)}, not a time (ISO-8601 or epoch)`;
    case 'URL':
      return URL.canParse(text) ? undefined : `gives ${JSON.stringify(value)}, not a URL`;
    case 'EMAIL':
      return EMAIL.test(text) ? undefined : `gives ${JSON.stringify(value)}, not an e-mail address`;
    case 'BOOLEAN':
      return text === 'true' || text === 'false'
        ? undefined
        : `gives ${JSON.stringify(value)}, not true/false`;
    case 'SINGLE_SELECT':
      return options === undefined || options.includes(text)
        ? undefined
        : `gives ${JSON.stringify(value)}, not one of its options ${JSON.stringify(options)}`;
    default:
      return undefined;
  }
}

/**
 * Checks a (valid) create rule against the template it targets.
 * Input: the rule, the template (normalized). Output: errors and warnings, each a sentence naming
 * the template field and the rule member.
 */
export async function checkRuleAgainstTemplate(
  rule: CreateRule,
  spec: TemplateSpec,
): Promise<RuleTemplateCheck> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const t = `template "${spec.name}"`;
  if (spec.status === 'INACTIVE')
    errors.push(`${t} is INACTIVE: tasks can only be created from ACTIVE templates`);
  if (spec.contactFlowId === undefined)
    errors.push(
      `${t} has no contact flow, and the rule targets only the template (StartTaskContact needs a flow)`,
    );

  const mapping = rule.mapping;
  const references = mapping.references ?? {};
  const attributes = mapping.attributes ?? {};

  for (const name of spec.constraints.required) {
    const { slot } = slotOf(spec, name);
    const defaulted = spec.defaults[name] !== undefined && spec.defaults[name] !== '';
    const mapped =
      slot === 'Name'
        ? true
        : slot === 'Description'
          ? mapping.description !== undefined
          : slot === 'ScheduledTime'
            ? mapping.scheduledTime !== undefined
            : references[name] !== undefined || attributes[name] !== undefined;
    if (mapped || defaulted) continue;
    const member =
      slot === 'custom'
        ? `mapping.references["${name}"] (or mapping.attributes["${name}"])`
        : `mapping.${slot === 'ScheduledTime' ? 'scheduledTime' : slot.toLowerCase()}`;
    if (slot === 'custom' && mapping.attributesFrom !== undefined)
      warnings.push(
        `required field "${name}" of ${t} is not mapped; only mapping.attributesFrom might fill it (not checked statically)`,
      );
    else
      errors.push(
        `required field "${name}" of ${t} is not mapped: set ${member} or give the field a default`,
      );
  }

  const fieldOf = new Map(spec.fields.map((f) => [f.name, f]));
  for (const [key, ref] of Object.entries(references)) {
    const field = fieldOf.get(key);
    if (field === undefined) {
      warnings.push(`mapping.references["${key}"]: ${t} has no field "${key}" (sent as a plain reference)`);
      continue;
    }
    const { slot, type } = slotOf(spec, key);
    if (slot !== 'custom') {
      errors.push(
        `mapping.references["${key}"]: field "${key}" of ${t} is the task's ${slot}; map it with mapping.${slot === 'ScheduledTime' ? 'scheduledTime' : slot.toLowerCase()}`,
      );
      continue;
    }
    const expected = (type && REFERENCE_TYPE[type]) ?? 'STRING';
    if (ref.type !== expected)
      errors.push(
        `mapping.references["${key}"]: field "${key}" of ${t} is ${type ?? 'untyped'}; the rule maps it as a ${ref.type} reference (expected ${expected})`,
      );
    const why = misfit(type, await knownResult(ref.value), field.options);
    if (why)
      errors.push(`mapping.references["${key}"].value: field "${key}" is ${type}; the expression ${why}`);
  }
  for (const [key, expr] of Object.entries(attributes)) {
    const field = fieldOf.get(key);
    if (field === undefined || references[key] !== undefined) continue;
    const { slot, type } = slotOf(spec, key);
    if (slot !== 'custom') continue;
    const why = misfit(type, await knownResult(expr), field.options);
    if (why) errors.push(`mapping.attributes["${key}"]: field "${key}" is ${type}; the expression ${why}`);
  }
  if (mapping.scheduledTime !== undefined) {
    const why = misfit('SCHEDULED_TIME', await knownResult(mapping.scheduledTime), undefined);
    if (why) errors.push(`mapping.scheduledTime: the expression ${why}`);
  }
  return { errors, warnings };
}
