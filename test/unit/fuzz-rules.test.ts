/**
 * Fuzz: random and mutated rule documents at the gate in front of the rules table.
 *
 * Property: `validateRule` either refuses with reasons (every reason names a path and a problem) and
 * `DynamoRuleStore.put` writes nothing, or it accepts, the rule compiles, and the store writes exactly
 * that rule (read back, it validates again to the same rule). DynamoDB is aws-sdk-client-mock.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { compileRule, validateRule } from '#lib/rules/compile.ts';
import { DynamoRuleStore, RuleValidationError } from '#lib/rules/store.ts';
import { CHAOS_RULES } from '#test/support/chaos.ts';
import { readSample } from '#test/support/lambda.ts';

/** Fixed for CI; FUZZ_SEED / FUZZ_RUNS explore further. */
const SEED = Number(process.env.FUZZ_SEED ?? 20240501);
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 400);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const BASE_RULES: Json[] = [
  ...[
    'crm-case.json',
    'monitoring-alarm.json',
    'monitoring-ok-drop.json',
    'orders.json',
    'returns-inactive.json',
    'shipping-sns.json',
  ].map((name) => readSample<Json>(`rules/${name}`)),
  ...(CHAOS_RULES as Json[]),
];

function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => {
    const child = (value as Record<string | number, Json>)[k] as Json;
    return [[...prefix, k], ...paths(child, [...prefix, k])];
  });
}

type Mutation = { at: number; action: 'delete' | 'replace' | 'add'; key: string; value: Json };

function mutate(doc: Json, mutations: readonly Mutation[]): Json {
  const copy = structuredClone(doc);
  for (const m of mutations) {
    const all = paths(copy);
    if (all.length === 0) break;
    const path = all[m.at % all.length] as (string | number)[];
    let parent = copy as Record<string | number, Json>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
    const last = path[path.length - 1] as string | number;
    const target = parent[last];
    if (m.action === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (
      m.action === 'add' &&
      target !== null &&
      typeof target === 'object' &&
      !Array.isArray(target)
    ) {
      target[m.key] = m.value;
    } else {
      parent[last] = m.value;
    }
  }
  return copy;
}

/** Strings that look like what rules hold: JSONata (valid and broken), ids, keys, durations. */
const ruleishString = fc.oneof(
  fc.constantFrom(
    'data.caseId',
    "'x' & data.a",
    '$string(data.priority)',
    '$millis() + 3600000',
    '$count(data.items)',
    "type = 'order.delayed'",
    'data.[',
    "'unterminated",
    '$nosuchfunction(1)',
    '(',
    '',
    ' ',
    'PT2H',
    'P1D',
    'not-a-duration',
    'create',
    'transfer',
    'drop',
    'URL',
    'ATTACHMENT',
    'DATE',
    'EMAIL',
    'related',
    'park',
    'f1a2b3c4-0000-4000-8000-000000000001',
    'key with spaces',
    'ключ',
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ minLength: 100, maxLength: 2_000 }),
);

const valueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: ruleishString },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer({ min: -10, max: 2_000_000 }), fc.boolean(), fc.constant(null)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> },
  {
    weight: 1,
    arbitrary: fc.dictionary(ruleishString, ruleishString, { maxKeys: 3 }) as fc.Arbitrary<Json>,
  },
);

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  action: fc.constantFrom('delete', 'replace', 'add'),
  key: fc.oneof(
    fc.constantFrom('match', 'priority', 'enabled', 'transfer', 'idempotencyKey', 'options', 'extra', 'type'),
    ruleishString,
  ),
  value: valueArb,
});

const ruleArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .record({ base: fc.constantFrom(...BASE_RULES), mutations: fc.array(mutationArb, { maxLength: 4 }) })
      .map(({ base, mutations }) => mutate(base, mutations)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 'rule', 42, [], {}) },
);

describe('fuzz: rules at the gate', () => {
  const dynamodb = mockClient(DynamoDBClient);
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const store = new DynamoRuleStore({ client, tableName: 'rules', now: () => Date.UTC(2024, 4, 1) });

  beforeEach(() => {
    dynamodb.reset();
    dynamodb.on(GetItemCommand).resolves({});
    dynamodb.on(PutItemCommand).resolves({});
  });
  afterAll(() => {
    dynamodb.restore();
    client.destroy();
  });

  it('either refuses a rule with a reason per problem and stores nothing, or stores exactly the rule', async () => {
    const seen = { refused: 0, stored: 0 };
    await fc.assert(
      fc.asyncProperty(ruleArb, async (input) => {
        // Prepare
        dynamodb.resetHistory();
        // Act
        const checked = validateRule(input);
        let stored: unknown;
        let refused: unknown;
        try {
          stored = await store.put(input);
        } catch (error) {
          refused = error;
        }
        // Assess
        if (!checked.ok) {
          seen.refused += 1;
          expect(checked.errors.length).toBeGreaterThan(0);
          // Each reason names where (a path from the rule's root, or "(rule)") and what.
          for (const reason of checked.errors) {
            expect(reason).toMatch(/^(\(rule\)|[A-Za-z]+)(\.|: )/);
            expect(reason).toMatch(/: \S/);
          }
          expect(refused).toBeInstanceOf(RuleValidationError);
          expect((refused as RuleValidationError).errors).toEqual(checked.errors);
          expect(dynamodb.calls()).toHaveLength(0);
          return;
        }
        seen.stored += 1;
        expect(refused).toBeUndefined();
        expect(() => compileRule(checked.rule)).not.toThrow();
        const puts = dynamodb.commandCalls(PutItemCommand);
        expect(puts).toHaveLength(1);
        const item = unmarshall(puts[0]?.args[0].input.Item ?? {});
        const { version, updatedAt, ...document } = item;
        expect(version).toBe(1);
        expect(typeof updatedAt).toBe('string');
        expect(document).toEqual(JSON.parse(JSON.stringify(checked.rule)));
        expect(validateRule(document)).toEqual({ ok: true, rule: checked.rule });
        expect(stored).toMatchObject({
          source: checked.rule.source,
          ruleId: checked.rule.ruleId,
          version: 1,
        });
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    // Both branches are reached.
    expect(seen.refused).toBeGreaterThan(NUM_RUNS / 10);
    expect(seen.stored).toBeGreaterThan(NUM_RUNS / 10);
  }, 20_000);
});
