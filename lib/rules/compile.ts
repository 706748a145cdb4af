/**
 * Rule validation, compilation and selection.
 *
 * `validateRule` is the gate in front of the rules table: zod shape (lib/rules/schema.ts), every
 * JSONata expression compiles, attribute and reference keys respect the Connect limits. A rule that
 * fails is refused before it is stored.
 *
 * `compileRule` turns a valid rule into bound evaluators, once per cold start / cache refresh.
 * Evaluation is guarded (JSONata's own timeout, stack-depth and sequence-length guardrails, plus a
 * cap on string output), and `$now()` / `$millis()` read the clock `compileRule` is given, so that
 * rules agree with the time of the function that runs them (the sandbox's movable clock there).
 *
 * `selectRule` picks the rule for an envelope: enabled rules of its source, ascending priority then
 * ruleId, first whose `match` is truthy.
 */
import jsonata from 'jsonata';
import { DEFAULT_TASK_LIMITS, type TaskLimits } from '#lib/connect/constraints.ts';
import { instanceNotAllowed } from '#lib/connect/instances.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { isObject } from '#lib/guards.ts';
import {
  type CreateRule,
  completeRuleSchema,
  createRuleSchema,
  dropRuleSchema,
  type Rule,
  transferRuleSchema,
  type UpdateRule,
  updateRuleSchema,
} from '#lib/rules/schema.ts';
import { RuleCompileError, RuleEvaluationError } from './errors.ts';

/** Guards applied to every evaluation. Generous for real mappings, fatal for runaway expressions. */
export const EVALUATION_GUARDS = Object.freeze({
  /** JSONata `timeout` option: wall-clock milliseconds one evaluation may run (a timed-out one runs once more). */
  timeoutMs: 250,
  /** JSONata `stack` option: maximum evaluation depth (recursion). */
  maxDepth: 500,
  /** JSONata `sequence` option: maximum length of any sequence/range built during evaluation. */
  maxSequence: 10_000,
  /** A string result longer than this is refused (UTF-16 code units): 1 MiB of text. */
  maxOutputChars: 1_048_576,
});

/** One compiled JSONata expression bound to its rule, with guarded evaluation. */
interface BoundExpression {
  /** Where the expression sits in the rule, e.g. `mapping.name`. */
  readonly path: string;
  /** The expression text. */
  readonly text: string;
  /** Evaluates over the envelope; throws RuleEvaluationError naming the rule and path. */
  evaluate(env: Envelope): Promise<unknown>;
}

interface CompiledReference {
  readonly key: string;
  /** ATTACHMENT only in an update mapping. */
  readonly type: 'URL' | 'NUMBER' | 'STRING' | 'DATE' | 'EMAIL' | 'ATTACHMENT';
  readonly value: BoundExpression;
}

/** The compiled `mapping` of a create rule; keyed entries keep the rule's key order. */
export interface CompiledMapping {
  readonly name: BoundExpression;
  readonly description?: BoundExpression;
  readonly attributes: readonly (readonly [key: string, expr: BoundExpression])[];
  /** `mapping.attributesFrom`: an object whose scalar values become attributes (explicit keys win). */
  readonly attributesFrom?: BoundExpression;
  readonly references: readonly CompiledReference[];
  readonly scheduledTime?: BoundExpression;
  readonly previousContactId?: BoundExpression;
  readonly relatedContactId?: BoundExpression;
  readonly segmentAttributes: readonly (readonly [key: string, expr: BoundExpression])[];
}

export interface CompiledRule {
  readonly rule: Rule;
  /** The match predicate with JSONata truthiness; absent when the rule matches everything. */
  readonly match?: (env: Envelope) => Promise<boolean>;
  /** The idempotency key expression; absent means the envelope id. */
  readonly idempotencyKey?: BoundExpression;
  /** action `create` only. */
  readonly mapping?: CompiledMapping;
  /** action `create` with a transfer plan using `at`. */
  readonly transferAt?: BoundExpression;
  /** action `create` with `notify.data`: key → expression, in the rule's key order. */
  readonly notifyData?: readonly (readonly [key: string, expr: BoundExpression])[];
  /** action `transfer` only. */
  readonly transferRequest?: { readonly targetKey: BoundExpression; readonly at?: BoundExpression };
  /** actions `update` and `complete`: the create event's key; absent: the create rule's idempotency key. */
  readonly correlationKey?: BoundExpression;
  /** action `update` only. */
  readonly update?: {
    readonly name?: BoundExpression;
    readonly description?: BoundExpression;
    readonly references: readonly CompiledReference[];
  };
}

export type RuleValidation = { ok: true; rule: Rule } | { ok: false; errors: string[] };

interface JsonataErrorLike {
  code?: unknown;
  position?: unknown;
  value?: unknown;
  message?: unknown;
}

/** Every JSONata expression of a rule as `[path, text]`, in a stable order. */
export function ruleExpressions(rule: Rule): [path: string, text: string][] {
  const out: [string, string][] = [];
  if (rule.match !== undefined) out.push(['match', rule.match]);
  if (rule.action === 'drop') return out;
  if (rule.action === 'update' || rule.action === 'complete') {
    if (rule.correlationKey !== undefined) out.push(['correlationKey', rule.correlationKey]);
    if (rule.action === 'complete') return out;
    const u = rule.mapping;
    if (u.name !== undefined) out.push(['mapping.name', u.name]);
    if (u.description !== undefined) out.push(['mapping.description', u.description]);
    for (const [key, ref] of Object.entries(u.references ?? {})) {
      out.push([`mapping.references.${key}.value`, ref.value]);
    }
    return out;
  }
  if (rule.idempotencyKey !== undefined) out.push(['idempotencyKey', rule.idempotencyKey]);
  if (rule.action === 'transfer') {
    out.push(['transferRequest.targetKey', rule.transferRequest.targetKey]);
    if (rule.transferRequest.at !== undefined) out.push(['transferRequest.at', rule.transferRequest.at]);
    return out;
  }
  const m = rule.mapping;
  out.push(['mapping.name', m.name]);
  if (m.description !== undefined) out.push(['mapping.description', m.description]);
  for (const [key, text] of Object.entries(m.attributes ?? {})) out.push([`mapping.attributes.${key}`, text]);
  if (m.attributesFrom !== undefined) out.push(['mapping.attributesFrom', m.attributesFrom]);
  for (const [key, ref] of Object.entries(m.references ?? {})) {
    out.push([`mapping.references.${key}.value`, ref.value]);
  }
  if (m.scheduledTime !== undefined) out.push(['mapping.scheduledTime', m.scheduledTime]);
  if (m.previousContactId !== undefined) out.push(['mapping.previousContactId', m.previousContactId]);
  if (m.relatedContactId !== undefined) out.push(['mapping.relatedContactId', m.relatedContactId]);
  for (const [key, text] of Object.entries(m.segmentAttributes ?? {})) {
    out.push([`mapping.segmentAttributes.${key}`, text]);
  }
  if (rule.transfer?.at !== undefined) out.push(['transfer.at', rule.transfer.at]);
  for (const [key, text] of Object.entries(rule.notify?.data ?? {})) out.push([`notify.data.${key}`, text]);
  return out;
}

function describeSyntaxError(path: string, error: unknown): string {
  const e = (isObject(error) ? error : {}) as JsonataErrorLike;
  const position = typeof e.position === 'number' ? e.position : 0;
  const message = typeof e.message === 'string' ? e.message : String(error);
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return `${path}: JSONata syntax error at ${position}: ${message}${code}`;
}

function pickSchema(input: unknown) {
  const action = isObject(input) ? input.action : undefined;
  if (action === undefined || action === 'create') return createRuleSchema;
  if (action === 'transfer') return transferRuleSchema;
  if (action === 'drop') return dropRuleSchema;
  if (action === 'update') return updateRuleSchema;
  if (action === 'complete') return completeRuleSchema;
  return undefined;
}

/** What `validateRule` checks besides the rule itself. */
export interface ValidateRuleOptions {
  /** The stage's Connect instances (connectInstanceIds): a rule naming another is refused. Undefined: any. */
  allowedInstanceIds?: readonly string[];
}

/**
 * Validates a rule before it is stored.
 *
 * Input: anything (a rule document from the CLI or a file); optional limits (default: the limits table
 * in lib/connect/constraints.ts); optionally the stage's Connect instances.
 * Output: `{ok: true, rule}` with defaults applied, or `{ok: false, errors}` where every error names
 * its path (`mapping.attributes.orderId: JSONata syntax error at 12: ...`).
 * Primary course: zod shape, every JSONata expression compiled, Connect key rules for attributes
 * (pattern, length) and references (length), and the instance, all in one pass: a document with a
 * shape error still gets its expressions, keys and instance checked, so every error comes at once.
 * Keys produced by `mapping.attributesFrom` are known only per event: the task validator
 * (`lib/connect/validate-task.ts`) checks them at ingest time.
 */
export function validateRule(
  input: unknown,
  limits: TaskLimits = DEFAULT_TASK_LIMITS,
  options: ValidateRuleOptions = {},
): RuleValidation {
  const schema = pickSchema(input);
  const parsed = schema?.safeParse(input);
  const errors: string[] =
    schema === undefined
      ? ['action: must be one of "create", "transfer", "drop", "update", "complete"']
      : parsed?.success === false
        ? parsed.error.issues.map((issue) => {
            const path = issue.path.map(String).join('.');
            return `${path === '' ? '(rule)' : path}: ${issue.message}`;
          })
        : [];
  // The checked rule, or what can be read of a document that failed the schema.
  const rule = parsed?.success ? parsed.data : looseRule(input);
  const reported = new Set(errors.map((error) => error.slice(0, error.indexOf(':'))));
  const more: string[] = [];
  for (const [path, text] of ruleExpressions(rule)) {
    if (typeof text !== 'string' || text === '' || reported.has(path)) continue;
    try {
      jsonata(text);
    } catch (error) {
      more.push(describeSyntaxError(path, error));
    }
  }
  if (rule.action === 'create' || rule.action === 'update') more.push(...keyErrors(rule, limits));
  const instanceId = isObject(input) ? input.instanceId : undefined;
  if (typeof instanceId === 'string' && !reported.has('instanceId')) {
    const refused = instanceNotAllowed(instanceId, options.allowedInstanceIds);
    if (refused !== undefined) more.push(`instanceId: ${refused}`);
  }
  errors.push(...more);
  return errors.length === 0 && parsed?.success ? { ok: true, rule: parsed.data } : { ok: false, errors };
}

/**
 * The parts of a document that failed the schema that can still be checked: its expressions (the
 * strings at expression paths) and its attribute and reference keys. Typed as a rule for
 * `ruleExpressions` and `keyErrors`, which read only these members (absent ones are skipped).
 */
function looseRule(input: unknown): Rule {
  const doc = isObject(input) ? input : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const object = (value: unknown) => (isObject(value) ? value : {});
  const texts = (value: unknown) =>
    Object.fromEntries(Object.entries(object(value)).filter(([, v]) => typeof v === 'string'));
  const references = (value: unknown) =>
    Object.fromEntries(
      Object.entries(object(value))
        .filter(([, v]) => isObject(v))
        .map(([key, v]) => [key, { value: text((v as Record<string, unknown>).value) }]),
    );
  const mapping = object(doc.mapping);
  const strings = (from: Record<string, unknown>, keys: readonly string[]) =>
    Object.fromEntries(keys.map((key) => [key, text(from[key])]));
  const loose = {
    action: typeof doc.action === 'string' ? doc.action : 'create',
    ...strings(doc, ['match', 'idempotencyKey', 'correlationKey']),
    mapping: {
      ...strings(mapping, [
        'name',
        'description',
        'attributesFrom',
        'scheduledTime',
        'previousContactId',
        'relatedContactId',
      ]),
      attributes: texts(mapping.attributes),
      references: references(mapping.references),
      segmentAttributes: texts(mapping.segmentAttributes),
    },
    transferRequest: strings(object(doc.transferRequest), ['targetKey', 'at']),
    transfer: strings(object(doc.transfer), ['at']),
  };
  return loose as unknown as Rule;
}

function keyErrors(rule: CreateRule | UpdateRule, limits: TaskLimits): string[] {
  const errors: string[] = [];
  const attributes = rule.action === 'create' ? rule.mapping.attributes : undefined;
  for (const key of Object.keys(attributes ?? {})) {
    const path = `mapping.attributes.${key}`;
    if (!limits.attributeKeyPattern.test(key)) {
      errors.push(`${path}: attribute keys can include only alphanumeric, dash, and underscore characters`);
    }
    if (key.length > limits.attributeKeyMaxLength) {
      errors.push(
        `${path}: key of ${key.length} characters exceeds the limit of ${limits.attributeKeyMaxLength}`,
      );
    }
  }
  for (const key of Object.keys(rule.mapping.references ?? {})) {
    if (key.length === 0) errors.push('mapping.references: reference keys must not be empty');
    if (key.length > limits.referenceKeyMaxLength) {
      errors.push(
        `mapping.references.${key.slice(0, 64)}…: key of ${key.length} characters exceeds the limit of ${limits.referenceKeyMaxLength}`,
      );
    }
  }
  return errors;
}

/**
 * JSONata's timeout is wall-clock time between evaluation steps: a garbage-collection pause or the
 * process being descheduled counts against it, and a healthy expression can time out. A timed-out
 * evaluation is therefore run once more: a runaway expression times out again (refused after at most
 * twice `timeoutMs`), a paused healthy one completes.
 */
function timedOut(error: unknown): boolean {
  return isObject(error) && error.code === 'D1012';
}

/** JSONata error codes whose `value` is a guard limit, not data: their message is safe to keep. */
const GUARD_CODES = new Set(['D1011', 'D1012', 'D2014', 'D2015']);

function bind(rule: Rule, path: string, text: string, now: () => number): BoundExpression {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(text, {
      timeout: EVALUATION_GUARDS.timeoutMs,
      stack: EVALUATION_GUARDS.maxDepth,
      sequence: EVALUATION_GUARDS.maxSequence,
    });
  } catch (error) {
    throw new RuleCompileError(rule.ruleId, [describeSyntaxError(path, error)]);
  }
  // `$now()` and `$millis()` follow the given clock (movable in the sandbox), not JSONata's own.
  expression.registerFunction(
    'now',
    function (this: jsonata.Focus, picture?: string, timezone?: string) {
      const fromMillis = this.environment.lookup('fromMillis') as {
        implementation: (ms: number, picture?: string, timezone?: string) => string;
      };
      return fromMillis.implementation.call(this, now(), picture, timezone);
    },
    '<s?s?:s>',
  );
  expression.registerFunction('millis', () => now(), '<:n>');

  const { ruleId, source } = rule;
  const fail = (code: string, detail: string, position?: number): RuleEvaluationError =>
    new RuleEvaluationError(
      position === undefined
        ? { ruleId, source, path, code, detail }
        : { ruleId, source, path, code, detail, position },
    );

  const refuse = (error: unknown): never => {
    const e = (isObject(error) ? error : {}) as JsonataErrorLike;
    const code = typeof e.code === 'string' ? e.code : 'Unknown';
    const position = typeof e.position === 'number' ? e.position : undefined;
    // JSONata interpolates the offending value into some messages (e.g. D3030 quotes the string
    // it could not cast), and `$error()` messages are built by the rule: both may carry customer
    // data, so those messages are withheld and only the code/position are reported.
    const safe =
      typeof e.message === 'string' && code !== 'D3137' && (e.value === undefined || GUARD_CODES.has(code));
    throw fail(
      code,
      safe ? (e.message as string) : 'evaluation failed (message withheld: it may quote data)',
      position,
    );
  };
  const capped = (result: unknown): unknown => {
    if (typeof result === 'string' && result.length > EVALUATION_GUARDS.maxOutputChars) {
      throw fail(
        'OutputTooLarge',
        `result of ${result.length} characters exceeds the cap of ${EVALUATION_GUARDS.maxOutputChars}`,
      );
    }
    return result;
  };

  return {
    path,
    text,
    // One derived promise around JSONata's, not an async wrapper: JSONata already creates a promise
    // per evaluation step, and with async hooks enabled (the X-Ray SDK loaded by the Tracer enables
    // them) every further promise costs hook calls and garbage collection.
    evaluate: (env: Envelope): Promise<unknown> =>
      expression
        .evaluate(env)
        .then(capped, (error: unknown) =>
          timedOut(error) ? expression.evaluate(env).then(capped, refuse) : refuse(error),
        ),
  };
}

/** JSONata's `$boolean()` casting: how a `match` result decides. */
export function jsonataTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.some(jsonataTruthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}

interface CompileOptions {
  /**
   * The time in epoch ms that `$now()` and `$millis()` return.
   * @default Date.now
   */
  now?: () => number;
}

/**
 * Compiles a validated rule once (per cold start / cache refresh).
 *
 * Input: a rule as `validateRule` returned it. Output: the rule with bound, guarded evaluators.
 * Throws RuleCompileError if an expression does not compile (the rule bypassed validation).
 *
 * @param options - The clock of `$now()` and `$millis()`.
 * @example
 *   const compiled = compileRule(validated.rule, { now: clock.now });
 */
export function compileRule(rule: Rule, options: CompileOptions = {}): CompiledRule {
  const now = options.now ?? Date.now;
  const at = (path: string, text: string) => bind(rule, path, text, now);
  let match: CompiledRule['match'];
  if (rule.match !== undefined) {
    const predicate = at('match', rule.match);
    match = (env: Envelope) => predicate.evaluate(env).then(jsonataTruthy);
  }
  if (rule.action === 'drop') return { rule, match };
  if (rule.action === 'update' || rule.action === 'complete') {
    const correlationKey =
      rule.correlationKey === undefined ? undefined : at('correlationKey', rule.correlationKey);
    if (rule.action === 'complete') return { rule, match, correlationKey };
    const u = rule.mapping;
    return {
      rule,
      match,
      correlationKey,
      update: {
        name: u.name === undefined ? undefined : at('mapping.name', u.name),
        description: u.description === undefined ? undefined : at('mapping.description', u.description),
        references: Object.entries(u.references ?? {}).map(([key, ref]) => ({
          key,
          type: ref.type,
          value: at(`mapping.references.${key}.value`, ref.value),
        })),
      },
    };
  }
  const idempotencyKey =
    rule.idempotencyKey === undefined ? undefined : at('idempotencyKey', rule.idempotencyKey);
  if (rule.action === 'transfer') {
    const req = rule.transferRequest;
    return {
      rule,
      match,
      idempotencyKey,
      transferRequest: {
        targetKey: at('transferRequest.targetKey', req.targetKey),
        at: req.at === undefined ? undefined : at('transferRequest.at', req.at),
      },
    };
  }
  const m = rule.mapping;
  const optional = (path: string, text: string | undefined) =>
    text === undefined ? undefined : at(path, text);
  const mapping: CompiledMapping = {
    name: at('mapping.name', m.name),
    description: optional('mapping.description', m.description),
    attributes: Object.entries(m.attributes ?? {}).map(
      ([key, text]) => [key, at(`mapping.attributes.${key}`, text)] as const,
    ),
    attributesFrom: optional('mapping.attributesFrom', m.attributesFrom),
    references: Object.entries(m.references ?? {}).map(([key, ref]) => ({
      key,
      type: ref.type,
      value: at(`mapping.references.${key}.value`, ref.value),
    })),
    scheduledTime: optional('mapping.scheduledTime', m.scheduledTime),
    previousContactId: optional('mapping.previousContactId', m.previousContactId),
    relatedContactId: optional('mapping.relatedContactId', m.relatedContactId),
    segmentAttributes: Object.entries(m.segmentAttributes ?? {}).map(
      ([key, text]) => [key, at(`mapping.segmentAttributes.${key}`, text)] as const,
    ),
  };
  return {
    rule,
    match,
    idempotencyKey,
    mapping,
    transferAt: rule.transfer?.at === undefined ? undefined : at('transfer.at', rule.transfer.at),
    notifyData: Object.entries(rule.notify?.data ?? {}).map(
      ([key, text]) => [key, at(`notify.data.${key}`, text)] as const,
    ),
  };
}

function byPriorityThenId(a: CompiledRule, b: CompiledRule): number {
  if (a.rule.priority !== b.rule.priority) return a.rule.priority - b.rule.priority;
  if (a.rule.ruleId === b.rule.ruleId) return 0;
  return a.rule.ruleId < b.rule.ruleId ? -1 : 1;
}

/**
 * Picks the rule for an envelope.
 *
 * Input: compiled rules (any sources, any order) and the envelope.
 * Output: the first enabled rule of `env.source`, by ascending priority then ruleId (code-unit
 * order), whose `match` is truthy (no `match` = matches); undefined when none matches.
 * A `match` that throws is that rule's error: RuleEvaluationError propagates, it is not skipped.
 */
export async function selectRule(
  rules: readonly CompiledRule[],
  env: Envelope,
): Promise<CompiledRule | undefined> {
  const candidates = rules.filter((c) => c.rule.enabled && c.rule.source === env.source);
  if (candidates.length > 1) candidates.sort(byPriorityThenId);
  for (const candidate of candidates) {
    if (candidate.match === undefined || (await candidate.match(env))) return candidate;
  }
  return undefined;
}
