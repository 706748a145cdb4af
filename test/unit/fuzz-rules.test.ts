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
import { RuleValidationError } from '#lib/rules/errors.ts';
import { DynamoRuleStore } from '#lib/rules/store.ts';
import {
  baseRules,
  fuzzRuns,
  type Json,
  type JsonMutation as Mutation,
  mutateJson as mutate,
  ruleishString,
  FUZZ_SEED as SEED,
} from '#test/support/fuzz.ts';

/** FUZZ_SEED / FUZZ_RUNS explore further. */
const NUM_RUNS = fuzzRuns(10_000);
/** A guard against a hang: ~1.5 ms a run measured, 8 × that for a shared two-core machine under load. */
const FUZZ_TIMEOUT_MS = Math.max(20_000, NUM_RUNS * 12);

const BASE_RULES: Json[] = baseRules();

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

  it(
    'either refuses a rule with a reason per problem and stores nothing, or stores exactly the rule',
    async () => {
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
    },
    FUZZ_TIMEOUT_MS,
  );
});
