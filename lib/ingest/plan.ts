/**
 * The planning step of ingest, shared with `rules test`: from an envelope and its source's rules to
 * the StartTaskContact request ingest would send, or the reason it would not.
 *
 * Input: the envelope, the source's compiled rules, and the deps below (template lookup, limits,
 * clock, the stage's instances, the lane decision).
 * Output (`TaskPlan`):
 *  - `start`: the rule, the validated request with its ClientToken, the idempotency key, the fields
 *    cut to their limit, the planned transfer time and the lane it is started in;
 *  - `forward`: a create rule names another lane: the message moves there instead (lane.ts);
 *  - `action`: the rule is not a create (drop, transfer, update, complete): its own step handles it;
 *  - `refused`: a PERMANENT refusal (no rule, instance not allowed, mapping or validation failed),
 *    with the step it happened in and, for a thrown one, the error.
 * Errors other than refusals (a task template fetch that fails, say) are thrown as they are.
 * Primary course: select the rule (priority order, `match`, first wins) → drop is an action → refuse
 * an instance the stage does not allow → other non-create actions → lane decision → map → task
 * template (when targeted) → ClientToken from (instanceId, source, idempotency key) → validate
 * against the StartTaskContact limits (and the template).
 */
import type { TaskLimits } from '#lib/connect/constraints.ts';
import { instanceNotAllowed } from '#lib/connect/instances.ts';
import {
  type TaskTemplateView,
  type ValidationIssue,
  validateTaskRequest,
} from '#lib/connect/validate-task.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { MappingError } from '#lib/mapping/errors.ts';
import { type MappedTask, mapToTaskRequest } from '#lib/mapping/map.ts';
import { evaluateNotify } from '#lib/mapping/notify.ts';
import type { NotifySpec } from '#lib/outcomes/outcome.ts';
import { type CompiledRule, selectRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';
import type { Rule } from '#lib/rules/schema.ts';
import type { LaneDecision } from './lane.ts';
import type { StartTaskCall } from './ports.ts';

/** A compiled rule whose action is create. */
export type CompiledCreateRule = CompiledRule & { rule: Extract<Rule, { action: 'create' }> };

function isCreate(compiled: CompiledRule): compiled is CompiledCreateRule {
  return compiled.rule.action === 'create';
}

export interface PlanDeps {
  /** The task template a TaskTemplateId request is checked against; undefined: not checked. */
  template(instanceId: string, templateId: string): Promise<TaskTemplateView | undefined>;
  limits: TaskLimits;
  /** Epoch ms; read once, when the request is mapped. */
  now: () => number;
  /** The stage's Connect instances; undefined: no restriction. */
  allowedInstanceIds?: readonly string[];
  /** Where a create rule's task is started (its `options.lane`); undefined: here, in no particular lane. */
  lane?: (rule: CompiledCreateRule) => LaneDecision;
}

/** What the planning learnt so far: a failure record names the rule and ClientToken it reached. */
export interface PlanProgress {
  rule?: CompiledRule;
  clientToken?: string;
}

type PlanStep = 'select' | 'instance' | 'map' | 'validate';

export type TaskPlan =
  | {
      kind: 'start';
      rule: CompiledCreateRule;
      lane: Extract<LaneDecision, { kind: 'here' }> | undefined;
      clientToken: string;
      request: StartTaskCall['request'];
      idempotencyKey: string;
      truncated: string[];
      transferAt?: number;
      /** The outcomes the rule asks for, with its `notify.data` evaluated. */
      notify?: NotifySpec;
      /** The epoch ms the request was mapped and validated at. */
      at: number;
    }
  | { kind: 'forward'; rule: CompiledCreateRule; lane: Extract<LaneDecision, { kind: 'forward' }> }
  | { kind: 'action'; rule: CompiledRule }
  | {
      kind: 'refused';
      step: PlanStep;
      code: string;
      message: string;
      rule?: CompiledRule;
      clientToken?: string;
      issues?: ValidationIssue[];
      /** The MappingError or RuleEvaluationError behind the refusal. */
      error?: MappingError | RuleEvaluationError;
    };

type Refusal = Extract<TaskPlan, { kind: 'refused' }>;

/** A thrown refusal of the rule language or the mapping, as a `refused` plan; anything else rethrown. */
function refusalOf(error: unknown, step: PlanStep, rule?: CompiledRule): Refusal {
  if (error instanceof MappingError || error instanceof RuleEvaluationError) {
    return {
      kind: 'refused',
      step,
      code: error.code,
      message: error.message,
      error,
      ...(rule ? { rule } : {}),
    };
  }
  throw error;
}

async function selectStep(
  envelope: Envelope,
  rules: readonly CompiledRule[],
): Promise<CompiledRule | Refusal> {
  let selected: CompiledRule | undefined;
  try {
    selected = await selectRule(rules, envelope);
  } catch (error) {
    return refusalOf(error, 'select');
  }
  if (selected) return selected;
  return {
    kind: 'refused',
    step: 'select',
    code: 'NoMatchingRule',
    message:
      rules.length === 0
        ? `no rules for source "${envelope.source}"`
        : `no enabled rule of source "${envelope.source}" matches event type "${envelope.type}"`,
  };
}

async function mapStep(
  rule: CompiledRule,
  envelope: Envelope,
  at: number,
): Promise<(MappedTask & { notify?: NotifySpec }) | Refusal> {
  try {
    const mapped = await mapToTaskRequest(rule, envelope, { now: at });
    const notify = await evaluateNotify(rule, envelope);
    return notify === undefined ? mapped : { ...mapped, notify };
  } catch (error) {
    return refusalOf(error, 'map', rule);
  }
}

/** Map → template → ClientToken → validate: the request a create rule makes of this envelope. */
async function requestStep(
  compiled: CompiledCreateRule,
  envelope: Envelope,
  deps: PlanDeps,
  progress: PlanProgress,
): Promise<Omit<Extract<TaskPlan, { kind: 'start' }>, 'kind' | 'rule' | 'lane'> | Refusal> {
  const rule = compiled.rule;
  const at = deps.now();
  const mapped = await mapStep(compiled, envelope, at);
  if ('kind' in mapped) return mapped;
  const templateId = mapped.request.TaskTemplateId;
  const template = templateId ? await deps.template(rule.instanceId, templateId) : undefined;
  const clientToken = taskClientToken(rule.instanceId, envelope.source, mapped.idempotencyKey);
  progress.clientToken = clientToken;
  const validated = validateTaskRequest(
    { ...mapped.request, ClientToken: clientToken },
    { limits: deps.limits, now: at, truncate: rule.options.truncate, ...(template ? { template } : {}) },
  );
  if (!validated.ok) {
    return {
      kind: 'refused',
      step: 'validate',
      code: 'ValidationFailed',
      message: validated.issues.map((issue) => issue.message).join('; '),
      issues: validated.issues,
      rule: compiled,
      clientToken,
    };
  }
  return {
    clientToken,
    request: { ...validated.request, ClientToken: clientToken },
    idempotencyKey: mapped.idempotencyKey,
    truncated: validated.truncated,
    ...(mapped.transferAt === undefined ? {} : { transferAt: mapped.transferAt }),
    ...(mapped.notify === undefined ? {} : { notify: mapped.notify }),
    at,
  };
}

export async function planTask(
  envelope: Envelope,
  rules: readonly CompiledRule[],
  deps: PlanDeps,
  progress: PlanProgress = {},
): Promise<TaskPlan> {
  const selected = await selectStep(envelope, rules);
  if ('kind' in selected) return selected;
  progress.rule = selected;
  const rule = selected.rule;
  if (rule.action === 'drop') return { kind: 'action', rule: selected };

  // A rule stored before the stage's instance list changed (rules put refuses new ones): the role may
  // not act on that instance, so the event waits in the DLQ with its reason instead of failing at Connect.
  const notAllowed = instanceNotAllowed(rule.instanceId, deps.allowedInstanceIds);
  if (notAllowed !== undefined) {
    const message = `rule ${rule.ruleId}: ${notAllowed}`;
    return { kind: 'refused', step: 'instance', code: 'InstanceNotAllowed', message, rule: selected };
  }
  if (!isCreate(selected)) return { kind: 'action', rule: selected };

  const lane = deps.lane?.(selected);
  if (lane?.kind === 'forward') return { kind: 'forward', rule: selected, lane };
  const planned = await requestStep(selected, envelope, deps, progress);
  if ('kind' in planned) return planned;
  return { kind: 'start', rule: selected, lane, ...planned };
}
