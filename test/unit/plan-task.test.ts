/**
 * planTask: the planning step ingest runs for every record and `rules test` runs for one message.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { parseEnvelope } from '#lib/envelope/parse.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import { type PlanDeps, type PlanProgress, planTask } from '#lib/ingest/plan.ts';
import { MappingError } from '#lib/mapping/errors.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { stringAttribute } from '#test/support/lambda.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const INSTANCE = '11111111-2222-3333-4444-555555555555';
const FLOW = 'f1a2b3c4-0000-4000-8000-000000000001';

function rule(overrides: Record<string, unknown> = {}): CompiledRule {
  const result = validateRule({
    source: 'bag',
    ruleId: 'bag-rule',
    instanceId: INSTANCE,
    target: { contactFlowId: FLOW },
    mapping: { name: 'data.title', description: 'data.details' },
    ...overrides,
  });
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

function dropRule(): CompiledRule {
  const result = validateRule({ source: 'bag', ruleId: 'drop-rule', action: 'drop' });
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

function envelope(data: Record<string, unknown>) {
  return parseEnvelope({
    body: JSON.stringify(data),
    // A raw message without an `id` attribute is known by its SQS message id.
    messageId: 'evt-1',
    attributes: { source: stringAttribute('bag') },
  });
}

const deps: PlanDeps = {
  limits: DEFAULT_TASK_LIMITS,
  now: () => NOW,
  template: async () => undefined,
};

describe('planTask', () => {
  it('plans the validated request with the ClientToken of (instance, source, idempotency key)', async () => {
    // Prepare
    const progress: PlanProgress = {};
    // Act
    const plan = await planTask(envelope({ title: 'Call back', details: 'x' }), [rule()], deps, progress);
    // Assess
    const token = taskClientToken(INSTANCE, 'bag', 'evt-1');
    expect(plan).toMatchObject({
      kind: 'start',
      clientToken: token,
      idempotencyKey: 'evt-1',
      truncated: [],
      at: NOW,
      request: { InstanceId: INSTANCE, ContactFlowId: FLOW, Name: 'Call back', ClientToken: token },
    });
    expect(progress).toEqual({ rule: expect.anything(), clientToken: token });
  });

  it('refuses at selection when no rule matches, naming the source', async () => {
    // Act
    const plan = await planTask(envelope({ title: 't' }), [], deps);
    // Assess
    expect(plan).toMatchObject({ kind: 'refused', step: 'select', code: 'NoMatchingRule' });
    expect(plan.kind === 'refused' && plan.message).toContain('"bag"');
  });

  it('refuses at mapping with the MappingError itself', async () => {
    // Act
    const plan = await planTask(envelope({ details: 'no title' }), [rule()], deps);
    // Assess
    expect(plan).toMatchObject({ kind: 'refused', step: 'map', code: 'MappingFailed' });
    expect(plan.kind === 'refused' && plan.error).toBeInstanceOf(MappingError);
  });

  it('refuses at validation with every issue and the ClientToken it reached', async () => {
    // Act
    const plan = await planTask(envelope({ title: 'x'.repeat(600) }), [rule()], deps);
    // Assess
    expect(plan).toMatchObject({ kind: 'refused', step: 'validate', code: 'ValidationFailed' });
    expect(plan.kind === 'refused' && plan.issues?.map((i) => i.field)).toEqual(['Name']);
    expect(plan.kind === 'refused' && plan.clientToken).toBe(taskClientToken(INSTANCE, 'bag', 'evt-1'));
  });

  it('refuses a rule of an instance the stage does not allow, before any mapping', async () => {
    // Act
    const plan = await planTask(envelope({ title: 't' }), [rule()], {
      ...deps,
      allowedInstanceIds: ['other'],
    });
    // Assess
    expect(plan).toMatchObject({ kind: 'refused', step: 'instance', code: 'InstanceNotAllowed' });
  });

  it('hands a drop rule back as an action, without mapping', async () => {
    // Act
    const plan = await planTask(envelope({}), [dropRule()], deps);
    // Assess
    expect(plan).toMatchObject({ kind: 'action', rule: { rule: { action: 'drop' } } });
  });

  it('forwards when the lane decision says so, and maps nothing', async () => {
    // Act
    const plan = await planTask(envelope({}), [rule()], {
      ...deps,
      lane: () => ({
        kind: 'forward',
        from: 'normal',
        to: 'urgent',
        message: { MessageBody: '{}', MessageAttributes: {} },
      }),
    });
    // Assess
    expect(plan).toMatchObject({ kind: 'forward', lane: { to: 'urgent' } });
  });
});
