import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { validateTaskRequest } from '#lib/connect/validate-task.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { MappingError } from '#lib/mapping/errors.ts';
import { mapToTaskRequest } from '#lib/mapping/map.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { RuleEvaluationError } from '#lib/rules/errors.ts';

const NOW = Date.parse('2024-05-01T12:00:00Z');

function rule(mapping: Record<string, unknown>): CompiledRule {
  const result = validateRule({
    source: 'src',
    ruleId: 'bag-rule',
    instanceId: 'inst-1',
    target: { contactFlowId: 'flow-1' },
    mapping: { name: '"Task"', ...mapping },
  });
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return compileRule(result.rule);
}

function envelope(data: unknown, attributes: Record<string, string> = {}): Envelope {
  return { source: 'src', id: 'evt-1', type: 't', time: '', data, attributes, kind: 'raw' };
}

async function mappingError(promise: Promise<unknown>): Promise<MappingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MappingError);
  return error as MappingError;
}

describe('mapping.attributesFrom', () => {
  it('turns the string, number and boolean values of the bag into string attributes', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: 'data.custom' });
    const custom = { plan: 'gold', seats: 12, ratio: 0.5, trial: false };

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ custom }), { now: NOW });

    // Assess
    expect(request.Attributes).toEqual({ plan: 'gold', seats: '12', ratio: '0.5', trial: 'false' });
  });

  it('accepts an object built by a JSONata constructor', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: '{"region": data.r, "count": $count(data.items)}' });

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope({ r: 'eu', items: [1, 2, 3] }), {
      now: NOW,
    });

    // Assess
    expect(request.Attributes).toEqual({ region: 'eu', count: '3' });
  });

  it('lets explicit attributes win over the bag on the same key', async () => {
    // Prepare
    const compiled = rule({
      attributes: { tenant: 'attributes.tenant', plan: 'data.plan' },
      attributesFrom: 'data.custom',
    });

    // Act
    const { request } = await mapToTaskRequest(
      compiled,
      envelope(
        { plan: 'platinum', custom: { tenant: 'spoofed', plan: 'gold', color: 'red' } },
        { tenant: 'acme' },
      ),
      { now: NOW },
    );

    // Assess
    expect(request.Attributes).toEqual({ tenant: 'acme', plan: 'platinum', color: 'red' });
  });

  it('never takes an explicitly mapped key from the bag, even when its expression yields no value', async () => {
    // Prepare
    const compiled = rule({ attributes: { tenant: 'attributes.tenant' }, attributesFrom: 'data.custom' });

    // Act
    const { request } = await mapToTaskRequest(
      compiled,
      envelope({ custom: { tenant: 'spoofed', color: 'red' } }),
      { now: NOW },
    );

    // Assess
    expect(request.Attributes).toEqual({ color: 'red' });
  });

  it('omits null values and adds nothing for an undefined or null bag', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: 'data.custom' });

    // Act
    const withNulls = await mapToTaskRequest(compiled, envelope({ custom: { a: null, b: 'x' } }), {
      now: NOW,
    });
    const missing = await mapToTaskRequest(compiled, envelope({}), { now: NOW });
    const nulled = await mapToTaskRequest(compiled, envelope({ custom: null }), { now: NOW });
    const empty = await mapToTaskRequest(compiled, envelope({ custom: {} }), { now: NOW });

    // Assess
    expect(withNulls.request.Attributes).toEqual({ b: 'x' });
    expect(missing.request).not.toHaveProperty('Attributes');
    expect(nulled.request).not.toHaveProperty('Attributes');
    expect(empty.request).not.toHaveProperty('Attributes');
  });

  it.each([
    ['a string', 'secret-value', 'a string of 12 characters'],
    ['a number', 42, 'a number'],
    ['a boolean', true, 'a boolean'],
    ['an array', ['secret-value'], 'an array of 1 items'],
  ])(
    'refuses a bag that is %s with a MappingError naming the field, not the value',
    async (_label, custom, kind) => {
      // Prepare
      const compiled = rule({ attributesFrom: 'data.custom' });

      // Act
      const error = await mappingError(mapToTaskRequest(compiled, envelope({ custom }), { now: NOW }));

      // Assess
      expect(error.field).toBe('mapping.attributesFrom');
      expect(error.ruleId).toBe('bag-rule');
      expect(error.message).toBe(
        `mapping.attributesFrom produced ${kind}; it must produce an object whose values become attributes`,
      );
      expect(error.message).not.toContain('secret-value');
    },
  );

  it('refuses a bag value that is an object or array, naming the key but not the value', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: 'data.custom' });

    // Act
    const nested = await mappingError(
      mapToTaskRequest(compiled, envelope({ custom: { ok: 'x', address: { street: 'secret street' } } }), {
        now: NOW,
      }),
    );
    const listed = await mappingError(
      mapToTaskRequest(compiled, envelope({ custom: { tags: ['secret-tag'] } }), { now: NOW }),
    );

    // Assess
    expect(nested.field).toBe('mapping.attributesFrom');
    expect(nested.message).toMatch(/^mapping\.attributesFrom: key "address" holds an object; /);
    expect(nested.message).not.toContain('secret street');
    expect(listed.message).toMatch(/^mapping\.attributesFrom: key "tags" holds an array of 1 items; /);
    expect(listed.message).not.toContain('secret-tag');
  });

  it('wraps an evaluation failure in a MappingError naming the field', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: '{"total": data.a + data.b}' });

    // Act
    const error = await mappingError(mapToTaskRequest(compiled, envelope({ a: 1, b: 'two' }), { now: NOW }));

    // Assess
    expect(error.field).toBe('mapping.attributesFrom');
    expect(error.cause).toBeInstanceOf(RuleEvaluationError);
  });

  it('keeps a "__proto__" key of the bag as an own attribute key', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: 'data.custom' });
    const body = JSON.parse('{"custom":{"__proto__":"p","x":"y"}}') as unknown;

    // Act
    const { request } = await mapToTaskRequest(compiled, envelope(body), { now: NOW });

    // Assess
    expect(Object.keys(request.Attributes ?? {})).toEqual(['__proto__', 'x']);
    expect(Object.getPrototypeOf(request.Attributes)).toBe(Object.prototype);
  });

  it('hands keys outside the Connect pattern to the validator, which refuses them by key and pattern', async () => {
    // Prepare
    const compiled = rule({ attributesFrom: 'data.custom' });
    const { request } = await mapToTaskRequest(
      compiled,
      envelope({ custom: { 'order id': 'secret value', fine_key: 'v' } }),
      { now: NOW },
    );

    // Act
    const validated = validateTaskRequest(
      { ...request, ClientToken: 'token-1' },
      { limits: DEFAULT_TASK_LIMITS, now: NOW, truncate: false },
    );

    // Assess
    expect(validated.ok).toBe(false);
    if (validated.ok) return;
    expect(validated.issues).toEqual([
      {
        field: 'Attributes.order id',
        limit: 'attributeKeyPattern',
        message:
          'Attributes.order id: attribute keys can include only alphanumeric, dash, and underscore characters',
      },
    ]);
    expect(JSON.stringify(validated.issues)).not.toContain('secret value');
  });

  it('yields the bag coerced to strings, overridden by the explicit keys, for any bag of scalars', async () => {
    // Prepare
    const compiled = rule({ attributes: { fixed: '"explicit"' }, attributesFrom: 'data.custom' });
    const key = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
    const scalar = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
    );

    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, scalar, { maxKeys: 8 }), async (custom) => {
        // Act
        const { request } = await mapToTaskRequest(compiled, envelope({ custom }), { now: NOW });

        // Assess
        const expected = Object.fromEntries([
          ...Object.entries(custom).map(([k, v]) => [k, String(v)]),
          ['fixed', 'explicit'],
        ]);
        expect(request.Attributes).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });
});
