/**
 * Fuzz through the sandbox: a seeded sample of random and mutated messages (bodies, attributes,
 * envelope kinds) sent to the ingest queue and processed by the real pipeline (poller → ingest
 * handler → DynamoDB, SQS and the Connect emulator over loopback).
 *
 * Properties: no exception escapes the handler (every invocation returns a batch response), every
 * record is done (created, duplicate, dropped, or parked with class + code + message), the DLQ holds
 * exactly the parked ones, and the Connect emulator counts zero InvalidParameterException /
 * InvalidRequestException: nothing invalid ever reaches Connect.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, CHAOS_RULES, type EventKind } from '#common/chaos/scenario.ts';
import {
  fuzzRuns,
  type Json,
  mutateJson,
  SAMPLE_RULE_FILES,
  FUZZ_SEED as SEED,
  sampleMessages,
} from '#test/support/fuzz.ts';
import { type Harness, startHarness } from '#test/support/harness.ts';

const MESSAGES = fuzzRuns(200);

type Outgoing = { body: string; attributes: Record<string, string> };

const SAMPLES: Outgoing[] = sampleMessages().map(({ body, attributes }) => ({
  body: JSON.stringify(body),
  attributes,
}));
const CHAOS_KINDS: EventKind[] = [
  'cloudevents',
  'eventbridge',
  'sns',
  'raw',
  'name-too-long',
  'invalid-email',
];

/** Printable text SQS accepts (no lone surrogates or control characters), never empty. */
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('ALARM', 'OK', 'order.delayed', 'DeliveryFailed', '2024-05-01T09:29:41Z', 'x@example.com'),
  fc.string({ minLength: 600, maxLength: 2_000 }),
);
const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as Json) },
);

/** Replaces or deletes `mutations.length` values of a JSON body (a non-JSON body is kept). */
function mutateBody(body: string, mutations: readonly { at: number; del: boolean; value: Json }[]): string {
  let doc: Json;
  try {
    doc = JSON.parse(body) as Json;
  } catch {
    return body;
  }
  const changes = mutations.map(
    ({ at, del, value }) => ({ at, action: del ? 'delete' : 'replace', value }) as const,
  );
  // An array element marked for deletion is replaced instead, as this suite always did.
  return JSON.stringify(mutateJson(doc, changes, { deleteInArrays: false }));
}

const baseArb: fc.Arbitrary<Outgoing> = fc.oneof(
  fc.constantFrom(...SAMPLES),
  fc.record({ kind: fc.constantFrom(...CHAOS_KINDS), n: fc.nat(1_000_000) }).map(({ kind, n }) => {
    const event = buildEvent(kind, n);
    return { body: event.body, attributes: event.attributes };
  }),
);

const messageArb: fc.Arbitrary<Outgoing> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        base: baseArb,
        mutations: fc.array(fc.record({ at: fc.nat(), del: fc.boolean(), value }), { maxLength: 3 }),
        attributes: fc.dictionary(
          fc.constantFrom('source', 'id', 'type', 'tenant', 'region', 'chaosEvent'),
          text,
          {
            maxKeys: 3,
          },
        ),
        dropAttributes: fc.boolean(),
      })
      .map(({ base, mutations, attributes, dropAttributes }) => ({
        body: mutateBody(base.body, mutations),
        attributes: dropAttributes ? attributes : { ...base.attributes, ...attributes },
      })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      body: fc.oneof(
        text,
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
      ),
      attributes: fc.dictionary(fc.constantFrom('source', 'id', 'type'), text, { maxKeys: 3 }),
    }),
  },
);

describe('fuzz: random messages through the sandbox pipeline', () => {
  let h: Harness;
  const outcomes: Array<{ status: string; code?: string; reason?: string }> = [];
  const invocationErrors: unknown[] = [];

  beforeAll(async () => {
    h = await startHarness({
      env: { START_TASK_RATE: '1000' },
      onOutcome: (_record, outcome) => {
        if (outcome.status === 'parked')
          outcomes.push({ status: 'parked', code: outcome.code, reason: outcome.reason });
        else outcomes.push({ status: outcome.status });
      },
      pipeline: {
        onInvocation: (_name, info) => {
          if (info.error !== undefined) invocationErrors.push(info.error);
        },
      },
    });
    await h.putRules([...SAMPLE_RULE_FILES.map((name) => h.sampleRule(name)), ...CHAOS_RULES]);
  });
  afterAll(async () => {
    await h.stop();
  });

  it('settles every message, parks refusals with a reason, and sends Connect nothing invalid', async () => {
    // Prepare
    const messages = fc.sample(messageArb, { numRuns: MESSAGES, seed: SEED });
    // Act
    await h.sendBatch(messages);
    await h.idle({ timeoutMs: 20_000 });
    // Assess
    expect(invocationErrors).toEqual([]);
    // A rule with a lane of its own (CHAOS_RULES) first forwards its events to that lane's queue.
    expect(
      outcomes.filter((o) => !['created', 'duplicate', 'dropped', 'parked', 'forwarded'].includes(o.status)),
    ).toEqual([]);
    expect(outcomes.filter((o) => o.status !== 'forwarded')).toHaveLength(MESSAGES);
    const parked = outcomes.filter((o) => o.status === 'parked');
    for (const o of parked) {
      expect(o.code).toBeTruthy();
      expect(o.reason).toBeTruthy();
    }
    const dlq = await h.dlq();
    expect(dlq).toHaveLength(parked.length);
    for (const entry of dlq) {
      expect(entry.problem).toBeUndefined();
      expect(entry.failure?.class).toBe('PERMANENT');
      expect(entry.failure?.code).toBeTruthy();
      expect(entry.failure?.message).toBeTruthy();
    }
    expect(h.tasks()).toHaveLength(outcomes.filter((o) => o.status === 'created').length);
    const calls = h.sandbox.connect.callCounts().StartTaskContact ?? {};
    expect(calls.InvalidParameterException ?? 0).toBe(0);
    expect(calls.InvalidRequestException ?? 0).toBe(0);
    // The sample reached both sides.
    expect(h.tasks().length).toBeGreaterThan(0);
    expect(parked.length).toBeGreaterThan(0);
  }, 30_000);
});
