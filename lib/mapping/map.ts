/**
 * Maps an envelope to a StartTaskContact request with a compiled create rule.
 *
 * Coercion (Connect wants strings): strings pass, numbers and booleans become strings, `undefined`
 * and `null` mean "no value" (the key is omitted; for a required field it is an error), arrays,
 * objects and functions are a MappingError naming the field. Times: see `lib/mapping/time.ts`
 * (ISO-8601 or epoch seconds/milliseconds by magnitude). ScheduledTime becomes a `Date` (the SDK
 * serialises it as epoch seconds); DATE references become an epoch-seconds string.
 * `mapping.attributesFrom` must produce an object (or nothing); its values follow the same coercion
 * and explicit `mapping.attributes` keys win over its keys.
 *
 * The request never carries a ClientToken: the caller derives it (`lib/idempotency/token.ts`) from
 * the instance, the source and the returned idempotency key.
 *
 * Error messages name the field and the kind of problem, never the value (customer data).
 */
import type { Reference, StartTaskContactCommandInput } from '@aws-sdk/client-connect';
import type { Envelope } from '#lib/envelope/types.ts';
import { addIsoDuration, parseTimeInput } from '#lib/mapping/time.ts';
import type { BoundExpression, CompiledMapping, CompiledRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';
import { DurationError, MappingError } from './errors.ts';

/** A StartTaskContact request before its ClientToken is set. */
type TaskRequestWithoutToken = Omit<StartTaskContactCommandInput, 'ClientToken'>;

export interface MappedTask {
  request: TaskRequestWithoutToken;
  /**
   * The rule's idempotency key for this event.
   * @default the envelope id
   */
  idempotencyKey: string;
  /** Epoch ms of the planned transfer: `transfer.at` evaluated, or `opts.now` + `transfer.after`. */
  transferAt?: number;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

async function run(expr: BoundExpression, env: Envelope, ruleId: string): Promise<unknown> {
  try {
    return await expr.evaluate(env);
  } catch (error) {
    if (error instanceof RuleEvaluationError) {
      throw new MappingError(expr.path, error.message, { cause: error, ruleId });
    }
    throw new MappingError(expr.path, `${expr.path}: evaluation failed`, { cause: error, ruleId });
  }
}

/** Coerces an expression result to the string Connect wants; undefined means "no value". */
function toConnectString(value: unknown, field: string, ruleId: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new MappingError(
    field,
    `${field} produced ${describe(value)}; Connect wants a string (use $string() or $join())`,
    { ruleId },
  );
}

async function evalString(
  expr: BoundExpression | undefined,
  env: Envelope,
  ruleId: string,
): Promise<string | undefined> {
  if (expr === undefined) return undefined;
  return toConnectString(await run(expr, env, ruleId), expr.path, ruleId);
}

async function evalTime(expr: BoundExpression, env: Envelope, ruleId: string): Promise<number | undefined> {
  const value = await run(expr, env, ruleId);
  if (value === undefined || value === null) return undefined;
  const ms = parseTimeInput(value);
  if (ms === undefined) {
    throw new MappingError(
      expr.path,
      `${expr.path}: ${describe(value)} is not an ISO-8601 time (with zone) or epoch number`,
      { ruleId },
    );
  }
  return ms;
}

/** Longest bag key echoed in a message; keys are field names, but a hostile one may be long. */
const KEY_ECHO = 64;

function echoKey(key: string): string {
  return key.length <= KEY_ECHO ? key : `${key.slice(0, KEY_ECHO)}…`;
}

/**
 * `mapping.attributesFrom`: the bag's entries with a value, coerced to strings.
 * Undefined/null result → no entries. Anything but a plain object → MappingError naming the field;
 * a value that is an array or object → MappingError naming the field and the key (never the value).
 */
async function evalAttributeBag(
  expr: BoundExpression,
  env: Envelope,
  ruleId: string,
): Promise<[key: string, value: string][]> {
  const bag = await run(expr, env, ruleId);
  if (bag === undefined || bag === null) return [];
  if (typeof bag !== 'object' || Array.isArray(bag)) {
    throw new MappingError(
      expr.path,
      `${expr.path} produced ${describe(bag)}; it must produce an object whose values become attributes`,
      { ruleId },
    );
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(bag)) {
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      entries.push([key, String(value)]);
      continue;
    }
    throw new MappingError(
      expr.path,
      `${expr.path}: key "${echoKey(key)}" holds ${describe(value)}; attribute values must be strings, numbers or booleans (use $sift or $string())`,
      { ruleId },
    );
  }
  return entries;
}

/**
 * The request's Attributes: the `attributesFrom` bag, then the explicit `attributes`, whose keys win
 * (a key named in `attributes` is never taken from the bag, even when its expression yields no value).
 * Undefined when no attribute has a value. Keys are not checked here: the task validator refuses keys
 * outside the Connect pattern, naming them.
 */
async function evalAttributes(
  mapping: CompiledMapping,
  env: Envelope,
  ruleId: string,
): Promise<Record<string, string> | undefined> {
  const out = new Map<string, string>();
  if (mapping.attributesFrom !== undefined) {
    const explicit = new Set(mapping.attributes.map(([key]) => key));
    for (const [key, value] of await evalAttributeBag(mapping.attributesFrom, env, ruleId)) {
      if (!explicit.has(key)) out.set(key, value);
    }
  }
  for (const [key, expr] of mapping.attributes) {
    const value = await evalString(expr, env, ruleId);
    if (value !== undefined) out.set(key, value);
  }
  // fromEntries defines own data properties: a key such as "__proto__" stays a key, not a prototype.
  return out.size === 0 ? undefined : Object.fromEntries(out);
}

/**
 * The event's idempotency key.
 *
 * Input: a compiled rule and the envelope. Output: the `idempotencyKey` expression's result as a
 * non-empty string (numbers/booleans coerced), or the envelope id when the rule has none.
 * Throws MappingError (field `idempotencyKey`) when the expression fails or yields no value.
 */
export async function evaluateIdempotencyKey(compiled: CompiledRule, env: Envelope): Promise<string> {
  const expr = compiled.idempotencyKey;
  if (expr === undefined) return env.id;
  const ruleId = compiled.rule.ruleId;
  const key = toConnectString(await run(expr, env, ruleId), expr.path, ruleId);
  if (key === undefined || key === '') {
    throw new MappingError(expr.path, `${expr.path} produced no value`, { ruleId });
  }
  return key;
}

/**
 * Builds the StartTaskContact request for one envelope.
 *
 * Input: a compiled `create` rule, the envelope, and `now` (epoch ms, for `transfer.after`).
 * Output: the request (no ClientToken), the idempotency key and the planned transfer time.
 * Primary course: evaluate each mapping expression over the envelope, coerce, omit undefined
 * optional values, set InstanceId and the one target from the rule.
 * Throws MappingError naming the field on any evaluation or coercion failure.
 */
export async function mapToTaskRequest(
  compiled: CompiledRule,
  env: Envelope,
  opts: { now: number },
): Promise<MappedTask> {
  const { rule, mapping } = compiled;
  const ruleId = rule.ruleId;
  if (rule.action !== 'create' || mapping === undefined) {
    throw new MappingError(
      'action',
      `rule "${ruleId}" has action "${rule.action}"; only "create" maps to a task`,
      {
        ruleId,
      },
    );
  }

  const name = await evalString(mapping.name, env, ruleId);
  if (name === undefined)
    throw new MappingError('mapping.name', 'mapping.name produced no value', { ruleId });

  const request: TaskRequestWithoutToken = { InstanceId: rule.instanceId, Name: name };
  if (rule.target.contactFlowId !== undefined) request.ContactFlowId = rule.target.contactFlowId;
  if (rule.target.quickConnectId !== undefined) request.QuickConnectId = rule.target.quickConnectId;
  if (rule.target.taskTemplateId !== undefined) request.TaskTemplateId = rule.target.taskTemplateId;

  const description = await evalString(mapping.description, env, ruleId);
  if (description !== undefined) request.Description = description;

  const attributes = await evalAttributes(mapping, env, ruleId);
  if (attributes !== undefined) request.Attributes = attributes;

  if (mapping.references.length > 0) {
    const references: Record<string, Reference> = {};
    let any = false;
    for (const ref of mapping.references) {
      let value: string | undefined;
      if (ref.type === 'DATE') {
        const ms = await evalTime(ref.value, env, ruleId);
        value = ms === undefined ? undefined : String(Math.floor(ms / 1000));
      } else {
        value = await evalString(ref.value, env, ruleId);
      }
      if (value !== undefined) {
        references[ref.key] = { Type: ref.type, Value: value };
        any = true;
      }
    }
    if (any) request.References = references;
  }

  if (mapping.scheduledTime !== undefined) {
    const ms = await evalTime(mapping.scheduledTime, env, ruleId);
    if (ms !== undefined) request.ScheduledTime = new Date(ms);
  }

  // An empty contact id is never a link (ids are 1..256 characters): treated as "no value".
  const previous = await evalString(mapping.previousContactId, env, ruleId);
  if (previous !== undefined && previous !== '') request.PreviousContactId = previous;
  const related = await evalString(mapping.relatedContactId, env, ruleId);
  if (related !== undefined && related !== '') request.RelatedContactId = related;

  if (mapping.segmentAttributes.length > 0) {
    const segments: NonNullable<StartTaskContactCommandInput['SegmentAttributes']> = {};
    let any = false;
    for (const [key, expr] of mapping.segmentAttributes) {
      const value = await evalString(expr, env, ruleId);
      if (value !== undefined) {
        segments[key] = { ValueString: value };
        any = true;
      }
    }
    if (any) request.SegmentAttributes = segments;
  }

  const idempotencyKey = await evaluateIdempotencyKey(compiled, env);
  const mapped: MappedTask = { request, idempotencyKey };

  const plan = rule.transfer;
  if (plan !== undefined) {
    if (compiled.transferAt !== undefined) {
      const at = await evalTime(compiled.transferAt, env, ruleId);
      if (at === undefined)
        throw new MappingError('transfer.at', 'transfer.at produced no value', { ruleId });
      mapped.transferAt = at;
    } else if (plan.after !== undefined) {
      try {
        mapped.transferAt = addIsoDuration(opts.now, plan.after);
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        throw new MappingError('transfer.after', `transfer.after: ${error.message}`, {
          cause: error,
          ruleId,
        });
      }
    }
  }
  return mapped;
}
