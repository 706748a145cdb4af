import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { Envelope } from '#lib/envelope/types.ts';
import {
  type CompiledRule,
  compileRule,
  EVALUATION_GUARDS,
  jsonataTruthy,
  ruleExpressions,
  selectRule,
  validateRule,
} from '#lib/rules/compile.ts';
import { RuleCompileError, RuleEvaluationError } from '#lib/rules/errors.ts';
import type { Rule, RuleInput } from '#lib/rules/schema.ts';

const rulesDir = new URL('../../events/rules/', import.meta.url);

function baseRule(overrides: Partial<Record<string, unknown>> = {}): RuleInput {
  return {
    source: 'com.example.crm',
    ruleId: 'r1',
    instanceId: 'inst-1',
    target: { contactFlowId: 'flow-1' },
    mapping: { name: 'data.title' },
    ...overrides,
  } as RuleInput;
}

function valid(input: unknown): Rule {
  const result = validateRule(input);
  if (!result.ok) throw new Error(`expected a valid rule: ${result.errors.join('; ')}`);
  return result.rule;
}

function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return {
    source: 'com.example.crm',
    id: 'evt-1',
    type: 'case.opened',
    time: '',
    data: { title: 'Hello', n: 3 },
    attributes: {},
    kind: 'cloudevents',
    ...overrides,
  };
}

describe('validateRule', () => {
  it('reports the JSONata errors of a rule that also fails the schema, in the same round', () => {
    // Act
    const result = validateRule(
      baseRule({ priority: -1, match: 'type =', mapping: { name: "'a' &", attributes: { 'bad key': 'x' } } }),
    );

    // Assess
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.some((e) => e.startsWith('priority:'))).toBe(true);
    expect(errors.some((e) => e.startsWith('match: JSONata syntax error'))).toBe(true);
    expect(errors.some((e) => e.startsWith('mapping.name: JSONata syntax error'))).toBe(true);
    expect(errors.some((e) => e.startsWith('mapping.attributes.bad key:'))).toBe(true);
  });

  it("refuses a rule naming an instance outside the stage's, with its other errors", () => {
    // Act
    const result = validateRule(baseRule({ mapping: { name: '(' } }), undefined, {
      allowedInstanceIds: ['inst-2'],
    });

    // Assess
    expect(result).toEqual({
      ok: false,
      errors: [
        expect.stringMatching(/^mapping\.name: JSONata syntax error/),
        "instanceId: instance inst-1 is not one of the stage's Connect instances (connectInstanceIds: inst-2)",
      ],
    });
  });

  it.each(readdirSync(rulesDir).filter((f) => f.endsWith('.json')))('accepts the sample rule %s', (file) => {
    // Prepare
    const input = JSON.parse(readFileSync(new URL(file, rulesDir), 'utf8')) as unknown;

    // Act
    const result = validateRule(input);

    // Assess
    expect(result).toMatchObject({ ok: true });
  });

  it('applies the schema defaults to an accepted rule', () => {
    // Act
    const rule = valid(baseRule());

    // Assess
    expect(rule).toMatchObject({
      action: 'create',
      priority: 100,
      enabled: true,
      options: { truncate: false },
    });
  });

  it('names the path and position of a JSONata syntax error', () => {
    // Act
    const result = validateRule(
      baseRule({ mapping: { name: 'data.title', attributes: { orderId: 'data.(orderId' } } }),
    );

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(
      /^mapping\.attributes\.orderId: JSONata syntax error at \d+: .+\(S0203\)$/,
    );
  });

  it('reports every broken expression, including match and idempotencyKey', () => {
    // Act
    const result = validateRule(
      baseRule({ match: 'type = ', idempotencyKey: '$$$(', mapping: { name: '"unterminated' } }),
    );

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.split(':')[0])).toEqual(['match', 'idempotencyKey', 'mapping.name']);
  });

  it('refuses attribute keys outside the Connect key pattern', () => {
    // Act
    const result = validateRule(
      baseRule({ mapping: { name: 'x', attributes: { 'order id': 'data.id', ok_key: 'data.id' } } }),
    );

    // Assess
    expect(result).toEqual({
      ok: false,
      errors: [
        'mapping.attributes.order id: attribute keys can include only alphanumeric, dash, and underscore characters',
      ],
    });
  });

  it('refuses reference keys longer than the reference key limit', () => {
    // Prepare
    const longKey = 'k'.repeat(4097);

    // Act
    const result = validateRule(
      baseRule({ mapping: { name: 'x', references: { [longKey]: { type: 'STRING', value: 'x' } } } }),
    );

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatch(/key of 4097 characters exceeds the limit of 4096$/);
  });

  it('names the path of a shape error (two targets)', () => {
    // Act
    const result = validateRule(baseRule({ target: { contactFlowId: 'f', quickConnectId: 'q' } }));

    // Assess
    expect(result).toEqual({
      ok: false,
      errors: ['target: target must name exactly one of contactFlowId, quickConnectId, taskTemplateId'],
    });
  });

  it('refuses an unknown action', () => {
    expect(validateRule({ ...baseRule(), action: 'explode' })).toEqual({
      ok: false,
      errors: ['action: must be one of "create", "transfer", "drop", "update", "complete"'],
    });
  });

  it('accepts drop and transfer rules and compiles their expressions', () => {
    // Prepare
    const transfer = {
      source: 's',
      ruleId: 't',
      action: 'transfer',
      instanceId: 'i',
      transferRequest: { targetKey: 'data.key', at: 'data.at', queueId: 'q', contactFlowId: 'f' },
    };

    // Act
    const rule = valid(transfer);

    // Assess
    expect(ruleExpressions(rule)).toEqual([
      ['transferRequest.targetKey', 'data.key'],
      ['transferRequest.at', 'data.at'],
    ]);
    expect(validateRule({ source: 's', ruleId: 'd', action: 'drop', match: 'type = "x"' }).ok).toBe(true);
  });
});

describe('compileRule', () => {
  it('refuses a rule whose expressions do not compile (bypassing validation)', () => {
    // Prepare
    const rule = { ...valid(baseRule()), match: 'type = ' } as Rule;

    // Act / Assess
    expect(() => compileRule(rule)).toThrow(RuleCompileError);
  });

  it('binds every expression with its path', () => {
    // Prepare
    const rule = valid(
      baseRule({
        mapping: {
          name: 'data.title',
          attributes: { a: 'data.n' },
          references: { link: { type: 'URL', value: 'data.url' } },
          segmentAttributes: { 'connect:X': '"y"' },
        },
        transfer: { planId: 'p', at: 'data.at', queueId: 'q', contactFlowId: 'f' },
      }),
    );

    // Act
    const compiled = compileRule(rule);

    // Assess
    expect(compiled.mapping?.name.path).toBe('mapping.name');
    expect(compiled.mapping?.attributes.map(([k, e]) => [k, e.path])).toEqual([
      ['a', 'mapping.attributes.a'],
    ]);
    expect(compiled.mapping?.references[0]?.value.path).toBe('mapping.references.link.value');
    expect(compiled.mapping?.segmentAttributes[0]?.[1].path).toBe('mapping.segmentAttributes.connect:X');
    expect(compiled.transferAt?.path).toBe('transfer.at');
    expect(compiled.match).toBeUndefined();
  });

  it('makes $millis() and $now() follow the clock compileRule is given', async () => {
    // Prepare: a clock ten days ahead of the wall clock, as the sandbox's may be.
    const at = Date.parse('2031-02-03T04:05:06.789Z');
    const rule = valid(baseRule({ mapping: { name: '$string($millis()) & "|" & $now()' } }));
    const compiled = compileRule(rule, { now: () => at });

    // Act
    const result = await compiled.mapping?.name.evaluate(envelope());

    // Assess
    expect(result).toBe(`${at}|2031-02-03T04:05:06.789Z`);
  });
});

describe('guarded evaluation', () => {
  async function evaluationError(expression: string, env = envelope()): Promise<RuleEvaluationError> {
    const compiled = compileRule(valid(baseRule({ mapping: { name: expression } })));
    const error = await compiled.mapping?.name.evaluate(env).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuleEvaluationError);
    return error as RuleEvaluationError;
  }

  it('stops runaway recursion with a guard error naming the rule and path', async () => {
    // Act
    const error = await evaluationError('($f := function($n){ $f($n + 1) }; $f(0))');

    // Assess
    expect(['D1011', 'D1012']).toContain(error.expressionCode);
    expect(error.message).toMatch(/^rule "r1" \(com\.example\.crm\) mapping\.name: JSONata D101[12]/);
  });

  it('runs a timed-out evaluation once more, so a pause of the process does not fail a healthy expression', async () => {
    // Prepare: the wall clock jumps past the timeout once, after the first evaluation started.
    const compiled = compileRule(valid(baseRule({ mapping: { name: 'data.title' } })));
    const start = Date.now();
    let calls = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => start + (calls++ === 0 ? 0 : 1_000));

    try {
      // Act
      const name = await compiled.mapping?.name.evaluate(envelope());

      // Assess
      expect(name).toBe('Hello');
    } finally {
      clock.mockRestore();
    }
  });

  it('refuses an evaluation that times out again when run once more', async () => {
    // Prepare: every step sees the wall clock a second later, as a runaway expression would.
    let t = Date.now();
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => (t += 1_000));

    try {
      // Act
      const error = await evaluationError('data.title');

      // Assess
      expect(error.expressionCode).toBe('D1012');
      expect(error.message).toMatch(/^rule "r1" \(com\.example\.crm\) mapping\.name: JSONata D1012/);
    } finally {
      clock.mockRestore();
    }
  });

  it('caps sequence lengths', async () => {
    // Act
    const error = await evaluationError(`$count([1..${EVALUATION_GUARDS.maxSequence + 1}])`);

    // Assess
    expect(error.expressionCode).toBe('D2015');
  });

  it('refuses string results above the output cap', async () => {
    // Prepare
    const env = envelope({ data: { chunk: 'x'.repeat(1024) } });

    // Act
    const error = await evaluationError('$join([1..1025].($$.data.chunk))', env);

    // Assess
    expect(error.expressionCode).toBe('OutputTooLarge');
  });

  it('withholds JSONata messages that quote data', async () => {
    // Prepare
    const env = envelope({ data: { secret: 'PII-VALUE-123' } });

    // Act
    const error = await evaluationError('$number(data.secret)', env);

    // Assess
    expect(error.expressionCode).toBe('D3030');
    expect(error.message).not.toContain('PII-VALUE-123');
    expect(error.cause).toBeUndefined();
  });
});

describe('selectRule', () => {
  function compiled(overrides: Partial<Record<string, unknown>>): CompiledRule {
    return compileRule(valid(baseRule(overrides)));
  }

  it('picks the matching rule of the source with the lowest priority, then ruleId', async () => {
    // Prepare
    const rules = [
      compiled({ ruleId: 'c', priority: 5 }),
      compiled({ ruleId: 'b', priority: 1 }),
      compiled({ ruleId: 'a', priority: 1 }),
      compiled({ ruleId: 'other-source', priority: 0, source: 'other' }),
    ];

    // Act
    const selected = await selectRule(rules, envelope());

    // Assess
    expect(selected?.rule.ruleId).toBe('a');
  });

  it('skips disabled rules and rules whose match is falsy', async () => {
    // Prepare
    const rules = [
      compiled({ ruleId: 'disabled', priority: 1, enabled: false }),
      compiled({ ruleId: 'wrong-type', priority: 2, match: 'type = "case.closed"' }),
      compiled({ ruleId: 'empty-string', priority: 3, match: '""' }),
      compiled({ ruleId: 'right-type', priority: 4, match: 'type = "case.opened"' }),
    ];

    // Act
    const selected = await selectRule(rules, envelope());

    // Assess
    expect(selected?.rule.ruleId).toBe('right-type');
  });

  it('returns undefined when no rule matches', async () => {
    // Prepare
    const rules = [compiled({ match: 'false' }), compiled({ ruleId: 'r2', source: 'other' })];

    // Act / Assess
    expect(await selectRule(rules, envelope())).toBeUndefined();
  });

  it('raises a match that throws as an error of that rule instead of skipping it', async () => {
    // Prepare
    const rules = [
      compiled({ ruleId: 'broken', priority: 1, match: '$undefinedFunction(type)' }),
      compiled({ ruleId: 'fallback', priority: 2 }),
    ];

    // Act
    const outcome = selectRule(rules, envelope());

    // Assess
    await expect(outcome).rejects.toThrow(RuleEvaluationError);
    await expect(outcome).rejects.toMatchObject({ ruleId: 'broken', path: 'match', expressionCode: 'T1006' });
  });

  it('decides match results with JSONata truthiness', () => {
    expect([undefined, null, false, 0, '', [], [0, ''], {}].map(jsonataTruthy)).toEqual(Array(8).fill(false));
    expect([true, 1, 'x', [0, 1], { a: 1 }].map(jsonataTruthy)).toEqual(Array(5).fill(true));
  });
});

describe('mapping.attributesFrom in rules', () => {
  it('names mapping.attributesFrom in a JSONata syntax error', () => {
    // Act
    const result = validateRule(baseRule({ mapping: { name: 'data.title', attributesFrom: 'data.(' } }));

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(/^mapping\.attributesFrom: JSONata syntax error at \d+: /);
  });

  it('refuses an empty attributesFrom expression', () => {
    // Act
    const result = validateRule(baseRule({ mapping: { name: 'data.title', attributesFrom: '' } }));

    // Assess
    expect(result).toEqual({
      ok: false,
      errors: ['mapping.attributesFrom: expression must not be empty'],
    });
  });

  it('lists attributesFrom among the rule expressions and binds it with its path', async () => {
    // Prepare
    const rule = valid(baseRule({ mapping: { name: 'data.title', attributesFrom: '{"n": data.n}' } }));

    // Act
    const compiled = compileRule(rule);

    // Assess
    expect(ruleExpressions(rule)).toContainEqual(['mapping.attributesFrom', '{"n": data.n}']);
    expect(compiled.mapping?.attributesFrom?.path).toBe('mapping.attributesFrom');
    expect(await compiled.mapping?.attributesFrom?.evaluate(envelope())).toEqual({ n: 3 });
  });

  it('leaves attributesFrom unbound when the rule has none', () => {
    // Act
    const compiled = compileRule(valid(baseRule()));

    // Assess
    expect(compiled.mapping?.attributesFrom).toBeUndefined();
  });
});
