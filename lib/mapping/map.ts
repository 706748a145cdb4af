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
import type { CompiledMapping, CompiledRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';
import type { CreateRule } from '#lib/rules/schema.ts';
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

/**
 * A rule expression's failure as the MappingError naming its field (the expression's path); any other
 * error (a MappingError from coercion) passes unchanged.
 *
 * Fields are evaluated by awaiting `BoundExpression.evaluate` directly and converting a failure here,
 * once per message, rather than through an async wrapper per field: with async hooks enabled (the
 * X-Ray SDK loaded by the Tracer enables them) every promise costs hook calls and garbage collection,
 * and JSONata itself already creates one per evaluation step.
 */
function asMappingError(error: unknown, ruleId: string): unknown {
  if (error instanceof RuleEvaluationError) {
    return new MappingError(error.path, error.message, { cause: error, ruleId });
  }
  return error;
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

/** A time expression's result as epoch ms; undefined means "no value". */
function toEpochMillis(value: unknown, field: string, ruleId: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = parseTimeInput(value);
  if (ms === undefined) {
    throw new MappingError(
      field,
      `${field}: ${describe(value)} is not an ISO-8601 time (with zone) or epoch number`,
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
function attributeBag(bag: unknown, field: string, ruleId: string): [key: string, value: string][] {
  if (bag === undefined || bag === null) return [];
  if (typeof bag !== 'object' || Array.isArray(bag)) {
    throw new MappingError(
      field,
      `${field} produced ${describe(bag)}; it must produce an object whose values become attributes`,
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
      field,
      `${field}: key "${echoKey(key)}" holds ${describe(value)}; attribute values must be strings, numbers or booleans (use $sift or $string())`,
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
  const from = mapping.attributesFrom;
  if (from !== undefined) {
    const explicit = new Set(mapping.attributes.map(([key]) => key));
    for (const [key, value] of attributeBag(await from.evaluate(env), from.path, ruleId)) {
      if (!explicit.has(key)) out.set(key, value);
    }
  }
  for (const [key, expr] of mapping.attributes) {
    const value = toConnectString(await expr.evaluate(env), expr.path, ruleId);
    if (value !== undefined) out.set(key, value);
  }
  // fromEntries defines own data properties: a key such as "__proto__" stays a key, not a prototype.
  return out.size === 0 ? undefined : Object.fromEntries(out);
}

/** The request's References (DATE values as epoch seconds); undefined when none has a value. */
async function evalReferences(
  mapping: CompiledMapping,
  env: Envelope,
  ruleId: string,
): Promise<Record<string, Reference> | undefined> {
  const references: Record<string, Reference> = {};
  let any = false;
  for (const ref of mapping.references) {
    const raw = await ref.value.evaluate(env);
    let value: string | undefined;
    if (ref.type === 'DATE') {
      const ms = toEpochMillis(raw, ref.value.path, ruleId);
      value = ms === undefined ? undefined : String(Math.floor(ms / 1000));
    } else {
      value = toConnectString(raw, ref.value.path, ruleId);
    }
    if (value !== undefined) {
      references[ref.key] = { Type: ref.type, Value: value };
      any = true;
    }
  }
  return any ? references : undefined;
}

/** The request's SegmentAttributes; undefined when none has a value. */
async function evalSegmentAttributes(
  mapping: CompiledMapping,
  env: Envelope,
  ruleId: string,
): Promise<StartTaskContactCommandInput['SegmentAttributes']> {
  const segments: NonNullable<StartTaskContactCommandInput['SegmentAttributes']> = {};
  let any = false;
  for (const [key, expr] of mapping.segmentAttributes) {
    const value = toConnectString(await expr.evaluate(env), expr.path, ruleId);
    if (value !== undefined) {
      segments[key] = { ValueString: value };
      any = true;
    }
  }
  return any ? segments : undefined;
}

/** The idempotency key: the expression's result as a non-empty string, or the envelope id. */
async function idempotencyKeyOf(compiled: CompiledRule, env: Envelope): Promise<string> {
  const expr = compiled.idempotencyKey;
  if (expr === undefined) return env.id;
  const ruleId = compiled.rule.ruleId;
  const key = toConnectString(await expr.evaluate(env), expr.path, ruleId);
  if (key === undefined || key === '') {
    throw new MappingError(expr.path, `${expr.path} produced no value`, { ruleId });
  }
  return key;
}

/**
 * The event's idempotency key.
 *
 * Input: a compiled rule and the envelope. Output: the `idempotencyKey` expression's result as a
 * non-empty string (numbers/booleans coerced), or the envelope id when the rule has none.
 * Throws MappingError (field `idempotencyKey`) when the expression fails or yields no value.
 */
export async function evaluateIdempotencyKey(compiled: CompiledRule, env: Envelope): Promise<string> {
  try {
    return await idempotencyKeyOf(compiled, env);
  } catch (error) {
    throw asMappingError(error, compiled.rule.ruleId);
  }
}

/** Epoch ms of the planned transfer, or undefined when the rule plans none. */
async function transferAtOf(compiled: CompiledRule, env: Envelope, now: number): Promise<number | undefined> {
  const { rule } = compiled;
  const plan = rule.action === 'create' ? rule.transfer : undefined;
  if (plan === undefined) return undefined;
  const ruleId = rule.ruleId;
  if (compiled.transferAt !== undefined) {
    const at = toEpochMillis(await compiled.transferAt.evaluate(env), compiled.transferAt.path, ruleId);
    if (at === undefined) throw new MappingError('transfer.at', 'transfer.at produced no value', { ruleId });
    return at;
  }
  if (plan.after === undefined) return undefined;
  try {
    return addIsoDuration(now, plan.after);
  } catch (error) {
    if (!(error instanceof DurationError)) throw error;
    throw new MappingError('transfer.after', `transfer.after: ${error.message}`, { cause: error, ruleId });
  }
}

/**
 * Builds the StartTaskContact request for one envelope.
 *
 * Input: a compiled `create` rule, the envelope, and `now` (epoch ms, for `transfer.after`).
 * Output: the request (no ClientToken), the idempotency key and the planned transfer time.
 * Primary course: evaluate each mapping expression over the envelope, in the rule's order, coerce,
 * omit undefined optional values, set InstanceId and the one target from the rule.
 * Throws MappingError naming the field on the first evaluation or coercion failure.
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
      { ruleId },
    );
  }
  try {
    return await mapCreate(compiled, mapping, env, opts.now);
  } catch (error) {
    throw asMappingError(error, ruleId);
  }
}

/** `mapToTaskRequest` past its checks; a rule expression's failure propagates as RuleEvaluationError. */
async function mapCreate(
  compiled: CompiledRule,
  mapping: CompiledMapping,
  env: Envelope,
  now: number,
): Promise<MappedTask> {
  const rule = compiled.rule as CreateRule;
  const ruleId = rule.ruleId;
  const name = toConnectString(await mapping.name.evaluate(env), mapping.name.path, ruleId);
  if (name === undefined)
    throw new MappingError('mapping.name', 'mapping.name produced no value', { ruleId });

  const request: TaskRequestWithoutToken = { InstanceId: rule.instanceId, Name: name };
  if (rule.target.contactFlowId !== undefined) request.ContactFlowId = rule.target.contactFlowId;
  if (rule.target.quickConnectId !== undefined) request.QuickConnectId = rule.target.quickConnectId;
  if (rule.target.taskTemplateId !== undefined) request.TaskTemplateId = rule.target.taskTemplateId;

  if (mapping.description !== undefined) {
    const description = toConnectString(
      await mapping.description.evaluate(env),
      mapping.description.path,
      ruleId,
    );
    if (description !== undefined) request.Description = description;
  }

  const attributes = await evalAttributes(mapping, env, ruleId);
  if (attributes !== undefined) request.Attributes = attributes;

  if (mapping.references.length > 0) {
    const references = await evalReferences(mapping, env, ruleId);
    if (references !== undefined) request.References = references;
  }

  if (mapping.scheduledTime !== undefined) {
    const expr = mapping.scheduledTime;
    const ms = toEpochMillis(await expr.evaluate(env), expr.path, ruleId);
    if (ms !== undefined) request.ScheduledTime = new Date(ms);
  }

  // An empty contact id is never a link (ids are 1..256 characters): treated as "no value".
  if (mapping.previousContactId !== undefined) {
    const expr = mapping.previousContactId;
    const id = toConnectString(await expr.evaluate(env), expr.path, ruleId);
    if (id !== undefined && id !== '') request.PreviousContactId = id;
  }
  if (mapping.relatedContactId !== undefined) {
    const expr = mapping.relatedContactId;
    const id = toConnectString(await expr.evaluate(env), expr.path, ruleId);
    if (id !== undefined && id !== '') request.RelatedContactId = id;
  }

  if (mapping.segmentAttributes.length > 0) {
    const segments = await evalSegmentAttributes(mapping, env, ruleId);
    if (segments !== undefined) request.SegmentAttributes = segments;
  }

  const mapped: MappedTask = { request, idempotencyKey: await idempotencyKeyOf(compiled, env) };
  const transferAt = await transferAtOf(compiled, env, now);
  if (transferAt !== undefined) mapped.transferAt = transferAt;
  return mapped;
}
