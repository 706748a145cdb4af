import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '#lib/envelope/types.ts';
import { compileRule, validateRule } from '#lib/rules/compile.ts';

/** Expressions the direct evaluator handles (some only for some inputs) and a few it must leave to JSONata. */
const EXPRESSIONS = [
  'data.a',
  'data.a.b',
  'source',
  'data.missing.x',
  'data.`weird key`',
  'data.constructor',
  "'Case ' & data.a",
  'data.a & data.b',
  "data.a & ' / ' & data.b & '!'",
  "data.a = 'v'",
  'data.a != data.b',
  'data.a = 1',
  'data.a = data.b',
  "type = 'order.delayed'",
  'true',
  'null',
  '"literal"',
  '42',
  'data.a[0]',
  '$string(data.a)',
  '$string(data.a.b)',
  "'p' & $string(data.a) & ')'",
  '$string(data.b) = data.a',
  '$string(12345678901234567)',
  '$string($string(data.a))',
  '$string(data.a, true)',
];

const dataArb = fc.dictionary(
  fc.constantFrom('a', 'b', 'weird key', 'constructor', '__proto__'),
  fc.oneof(
    fc.constantFrom('v', '', 1, 0, -3, 1.5, 1e15, 1e21, 999999999999999, true, false, null),
    fc.jsonValue({ maxDepth: 2 }),
    fc.dictionary(fc.constantFrom('b', 'x'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
  ),
  { maxKeys: 4 },
);

function normalise(value: unknown): unknown {
  return value === undefined ? { undefined: true } : JSON.parse(JSON.stringify(value));
}

describe('compiled expressions', () => {
  it('evaluate exactly as JSONata does, fast path or not', async () => {
    // Prepare
    const rule = validateRule({
      source: 's',
      ruleId: 'r',
      instanceId: 'i',
      target: { contactFlowId: 'f' },
      mapping: { name: '"n"', attributes: Object.fromEntries(EXPRESSIONS.map((e, i) => [`e${i}`, e])) },
    });
    if (!rule.ok) throw new Error(rule.errors.join('; '));
    const compiled = compileRule(rule.rule).mapping?.attributes ?? [];
    const reference = EXPRESSIONS.map((text) => jsonata(text));

    await fc.assert(
      fc.asyncProperty(dataArb, fc.constantFrom('order.delayed', 'other'), async (data, type) => {
        const env: Envelope = { source: 's', id: 'i', type, time: '', data, attributes: {}, kind: 'raw' };
        for (const [index, [, expr]] of compiled.entries()) {
          // Act
          const actual = await expr.evaluate(env);
          const expected = await reference[index]?.evaluate(env);

          // Assess
          expect(normalise(actual), EXPRESSIONS[index]).toEqual(normalise(expected));
        }
      }),
      { numRuns: 200 },
    );
  });
});
