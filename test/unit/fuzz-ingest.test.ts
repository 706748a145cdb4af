/**
 * Fuzz: random and mutated SQS records through the whole ingest use case (`processRecord`) with the
 * real pure pieces (envelope parsing, rule compile/select, JSONata mapping, request validation, tokens,
 * DLQ record) and fake I/O ports. The task gateway talks to the sandbox's Connect emulator in process
 * (the real ConnectClient with a request handler that hands the serialized request to the emulator:
 * no network), so "nothing invalid reaches Connect" is judged by the emulator itself.
 *
 * Properties, for every record:
 * - processRecord settles with an outcome: created, dropped, or parked with class + code + reason;
 *   with ports that never fail nothing is ever TRANSIENT (an unexplained error would be);
 * - a parked record was sent to the DLQ exactly once, with a readable failure record (class, code,
 *   message) and the original body kept byte-for-byte;
 * - the emulator never answers InvalidParameterException, InvalidRequestException or
 *   ResourceNotFoundException.
 */
import { Readable } from 'node:stream';
import { ConnectClient, StartTaskContactCommand } from '@aws-sdk/client-connect';
import type { SQSMessageAttribute, SQSRecord } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, CHAOS_RULES } from '#common/chaos/scenario.ts';
import { DEFAULT_TASK_LIMITS } from '#lib/connect/constraints.ts';
import { createTemplateProvider } from '#lib/connect/templates.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import type { QueueActions } from '#lib/ingest/ports.ts';
import { type IngestDeps, processRecord, type RecordOutcome } from '#lib/ingest/process-record.ts';
import { dueNow } from '#lib/ingest/start-task.ts';
import { readDlqMessage } from '#lib/retry/dlq-message.ts';
import { type CompiledRule, compileRule, validateRule } from '#lib/rules/compile.ts';
import { type ConnectEmulator, createConnectEmulator, loadWorld } from '#sandbox/connect/emulator.ts';
import {
  baseRules,
  fuzzRuns,
  type Json,
  type JsonMutation as Mutation,
  mutateJson as mutate,
  jsonPaths as paths,
  FUZZ_SEED as SEED,
  sampleMessages,
  setAt,
  valueAt,
} from '#test/support/fuzz.ts';
import { readSample, sqsRecord, stringAttribute } from '#test/support/lambda.ts';

/** FUZZ_SEED / FUZZ_RUNS explore further (`FUZZ_SEED=$RANDOM npx vitest run test/unit/fuzz-*`). */
const NUM_RUNS = fuzzRuns(10_000);
/** A guard against a hang: ~2 ms a run measured, 8 × that for a shared two-core machine under load. */
const FUZZ_TIMEOUT_MS = Math.max(20_000, NUM_RUNS * 16);

// ------------------------------------------------------------------------------------------------
// The Connect emulator, in process

/** A ConnectClient whose requests are served by `emulator.handle` without a socket. */
function inProcessConnect(emulator: ConnectEmulator): ConnectClient {
  return new ConnectClient({
    region: 'us-east-1',
    endpoint: 'http://connect.in-process',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: {
      async handle(request: {
        method: string;
        path: string;
        query?: Record<string, string | string[] | null>;
        headers: Record<string, string>;
        body?: unknown;
      }) {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(request.query ?? {})) {
          for (const value of Array.isArray(v) ? v : [v]) if (value !== null) query.append(k, value);
        }
        const body =
          typeof request.body === 'string'
            ? Buffer.from(request.body)
            : request.body instanceof Uint8Array
              ? // Not Buffer.from(body): the SDK's body type answers valueOf() as a string (and warns).
                Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength)
              : Buffer.alloc(0);
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
        );
        const res = await emulator.handle({
          method: request.method,
          path: request.path,
          query,
          headers,
          body,
        });
        return {
          response: {
            statusCode: res.status,
            headers: res.headers ?? {},
            body: Readable.from([Buffer.from(res.body ?? '')]),
          },
        };
      },
    },
  });
}

// ------------------------------------------------------------------------------------------------
// Rules: the sample rules and the chaos rules, validated and compiled once

function compileAll(documents: readonly unknown[]): CompiledRule[] {
  return documents.map((doc) => {
    const checked = validateRule(doc);
    if (!checked.ok) throw new Error(`a fixture rule does not validate: ${checked.errors.join('; ')}`);
    return compileRule(checked.rule);
  });
}

const RULES = compileAll(baseRules());
const SOURCES = [...new Set(RULES.map((r) => r.rule.source))];

// ------------------------------------------------------------------------------------------------
// Messages

const SAMPLE_MESSAGES = sampleMessages();

const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ minLength: 500, maxLength: 5_000 }),
  fc.constantFrom('', ' ', 'ALARM', 'OK', 'order.delayed', 'DeliveryFailed', 'com.example.crm.case.opened'),
  fc.constantFrom('2024-05-01T09:29:41Z', 'not a date', '1893456000', 'ada@example.com', 'https://x.example'),
);

const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null)),
  },
);

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  action: fc.constantFrom('delete', 'replace'),
  value: jsonValue,
});

const attributeValueArb: fc.Arbitrary<SQSMessageAttribute> = fc.oneof(
  nastyString.map((s) => ({
    dataType: 'String',
    stringValue: s,
    stringListValues: [],
    binaryListValues: [],
  })),
  fc
    .integer()
    .map((n) => ({ dataType: 'Number', stringValue: String(n), stringListValues: [], binaryListValues: [] })),
  fc.base64String({ maxLength: 16 }).map((b) => ({
    dataType: 'Binary',
    binaryValue: b,
    stringListValues: [],
    binaryListValues: [],
  })),
);

const attributesArb: fc.Arbitrary<Record<string, SQSMessageAttribute>> = fc.dictionary(
  fc.oneof(
    fc.constantFrom('source', 'id', 'type', 'tenant', 'region', 'cti.failure'),
    fc.string({ maxLength: 8 }),
  ),
  attributeValueArb,
  { maxKeys: 6 },
);

const stringAttrs = (attrs: Record<string, string>) =>
  Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, stringAttribute(v)]));

/** A sample message mutated (bodies, SNS inner messages and attributes). */
const mutatedSampleArb = fc
  .record({
    sample: fc.constantFrom(...SAMPLE_MESSAGES),
    mutations: fc.array(mutationArb, { maxLength: 4 }),
    innerMutations: fc.array(mutationArb, { maxLength: 3 }),
    extraAttributes: attributesArb,
    keepAttributes: fc.boolean(),
    source: fc.constantFrom(...SOURCES),
  })
  .map(({ sample, mutations, innerMutations, extraAttributes, keepAttributes, source }) => {
    let body = mutate(sample.body, mutations);
    // SNS: also mutate the JSON carried in Message.
    if (
      body !== null &&
      typeof body === 'object' &&
      !Array.isArray(body) &&
      typeof body.Message === 'string'
    ) {
      try {
        body = { ...body, Message: JSON.stringify(mutate(JSON.parse(body.Message) as Json, innerMutations)) };
      } catch {
        // Message was mutated into non-JSON text: kept as it is.
      }
    }
    const attributes = keepAttributes
      ? { ...stringAttrs({ ...sample.attributes, source }), ...extraAttributes }
      : extraAttributes;
    return { body: JSON.stringify(body), attributes };
  });

/** Bodies that are not sample-shaped at all: any text, any JSON, envelope-shaped objects with odd fields. */
const randomMessageArb = fc.record({
  body: fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .record({
        specversion: jsonValue,
        source: fc.constantFrom(...SOURCES),
        id: jsonValue,
        type: jsonValue,
        data: jsonValue,
      })
      .map((v) => JSON.stringify(v)),
    fc
      .record({
        'detail-type': jsonValue,
        detail: jsonValue,
        source: fc.constantFrom(...SOURCES),
        id: jsonValue,
      })
      .map((v) => JSON.stringify(v)),
  ),
  attributes: attributesArb,
});

const messageArb = fc.oneof(
  { weight: 3, arbitrary: mutatedSampleArb },
  { weight: 1, arbitrary: randomMessageArb },
);

// ------------------------------------------------------------------------------------------------
// Mutated rules: a rule's expressions replaced, paired with a message of the rule's own source

/** Expressions that compile but yield odd values: objects, arrays, numbers, long text, past times... */
const EXPRESSION_POOL = [
  'data',
  '$',
  'data.items',
  '[1, 2, 3]',
  "{'a': 1}",
  '$string(data)',
  'data.missing',
  '1/0',
  '-1',
  'true',
  'null',
  "$pad('', 600, 'n')",
  "$pad('', 5000, 'd')",
  "$join($map([1..300], function($i) { 'k' & $i }), ',')",
  '$millis()',
  '$millis() - 3600000',
  '$millis() + 30 * 24 * 3600000',
  "'2020-01-01T00:00:00Z'",
  "'not a time'",
  "'mailto:nobody'",
  "'https://example.com/' & id",
  "'x@example.com'",
  'id',
  'source',
  'attributes',
  "''",
  "'ATTACHMENT'",
];

/** The string leaves of a rule's expressions (match, idempotencyKey, mapping, transfer.at). */
function expressionPaths(rule: Json): (string | number)[][] {
  return paths(rule).filter((path) => {
    const [root] = path;
    if (root !== 'match' && root !== 'idempotencyKey' && root !== 'mapping') return false;
    const value = valueAt(rule, path);
    return typeof value === 'string' && path[path.length - 2] !== 'references';
  });
}

const PAIRS: readonly {
  rule: Json;
  message: () => { body: string; attributes: Record<string, SQSMessageAttribute> };
}[] = [
  ['crm-case.json', 0],
  ['monitoring-alarm.json', 1],
  ['orders.json', 2],
  ['shipping-sns.json', 3],
]
  .map(([rule, message]) => {
    const sample = SAMPLE_MESSAGES[message as number] as (typeof SAMPLE_MESSAGES)[number];
    return {
      rule: readSample<Json>(`rules/${rule}`),
      message: () => ({ body: JSON.stringify(sample.body), attributes: stringAttrs(sample.attributes) }),
    };
  })
  .concat(
    (['cloudevents', 'eventbridge', 'sns', 'raw'] as const).map((kind, i) => ({
      rule: CHAOS_RULES[i] as Json,
      message: () => {
        const event = buildEvent(kind, 1);
        return { body: event.body, attributes: stringAttrs(event.attributes) };
      },
    })),
  );

const mutatedRuleCaseArb = fc
  .record({
    pair: fc.constantFrom(...PAIRS),
    replacements: fc.array(fc.record({ at: fc.nat(), expression: fc.constantFrom(...EXPRESSION_POOL) }), {
      minLength: 1,
      maxLength: 3,
    }),
  })
  .map(({ pair, replacements }) => {
    const rule = structuredClone(pair.rule);
    for (const { at, expression } of replacements) {
      const all = expressionPaths(rule);
      setAt(rule, all[at % all.length] as (string | number)[], expression);
    }
    return { rule, ...pair.message() };
  });

// ------------------------------------------------------------------------------------------------
// The ports

interface Recorded {
  dlq: Parameters<QueueActions['sendToDlq']>[0][];
  visibility: number[];
}

function deps(
  connect: ConnectClient,
  recorded: Recorded,
  rules: readonly CompiledRule[] = RULES,
): IngestDeps {
  return {
    rules: { rulesFor: async (source) => rules.filter((r) => r.rule.source === source) },
    templates: createTemplateProvider({ connect, maxAgeMs: 60_000 }),
    // As the real starter does (lib/ingest/start-task.ts): a ScheduledTime that is due by the time
    // the call goes out is dropped, so the task starts at once instead of being refused as past.
    startTask: async ({ request }) => {
      const out = await connect.send(new StartTaskContactCommand(dueNow(request, Date.now())));
      return { contactId: out.ContactId as string, duplicate: false, linkedAsRelated: false };
    },
    queue: {
      async changeVisibility(_handle, seconds) {
        recorded.visibility.push(seconds);
      },
      async sendToDlq(message) {
        recorded.dlq.push(message);
        return { messageId: `dlq-${recorded.dlq.length}` };
      },
      async sendBack() {
        throw new Error('nothing is sent back in this test');
      },
    },
    afterCreate: async () => {},
    lifecycle: async () => {
      throw new Error('no update/complete rules in this test');
    },
    requestTransfer: async () => ({ contactId: 'c-1', planId: 'p-1', scheduled: 'created' }),
    metrics: { count() {} },
    log: { info() {}, warn() {}, error() {} },
    limits: DEFAULT_TASK_LIMITS,
    transientBackoff: { baseSeconds: 2, capSeconds: 300 },
    overQuotaBackoff: { baseSeconds: 60, capSeconds: 3600 },
    now: Date.now,
  };
}

// ------------------------------------------------------------------------------------------------

/** A fresh Connect emulator and its in-process client for the tests of the enclosing `describe`. */
function useInProcessConnect(): { readonly emulator: ConnectEmulator; readonly connect: ConnectClient } {
  const world = {} as { emulator: ConnectEmulator; connect: ConnectClient };
  beforeAll(() => {
    world.emulator = createConnectEmulator({ world: loadWorld(), config: { activeTaskQuota: 1_000_000 } });
    world.connect = inProcessConnect(world.emulator);
  });
  afterAll(() => {
    world.connect.destroy();
  });
  return world;
}

describe('fuzz: records through processRecord', () => {
  const world = useInProcessConnect();

  it(
    'settles every record as created, dropped or parked with a reason, and never sends Connect an invalid request',
    async () => {
      const outcomes: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(messageArb, async ({ body, attributes }) => {
          // Prepare
          const recorded: Recorded = { dlq: [], visibility: [] };
          const record: SQSRecord = sqsRecord({ body, messageAttributes: attributes });
          // Act
          let outcome: RecordOutcome | undefined;
          let thrown: unknown;
          try {
            outcome = await processRecord(record, deps(world.connect, recorded));
          } catch (error) {
            thrown = error;
          }
          // Assess
          expect(thrown, `a record was not settled: ${String(thrown)}`).toBeUndefined();
          expect(thrown).not.toBeInstanceOf(RecordNotDoneError);
          expect(recorded.visibility).toEqual([]);
          const settled = outcome as RecordOutcome;
          outcomes[settled.status === 'parked' ? `parked ${settled.code}` : settled.status] =
            (outcomes[settled.status === 'parked' ? `parked ${settled.code}` : settled.status] ?? 0) + 1;
          if (settled.status === 'parked') {
            expect(settled.failureClass).toBe('PERMANENT');
            expect(settled.code).not.toBe('');
            expect(settled.reason).not.toBe('');
            expect(recorded.dlq).toHaveLength(1);
            const sent = recorded.dlq[0] as Recorded['dlq'][number];
            const read = readDlqMessage({
              Body: sent.MessageBody,
              MessageAttributes: sent.MessageAttributes,
            });
            expect(read.problem).toBeUndefined();
            expect(read.body).toBe(body);
            expect(read.failure).toMatchObject({ class: 'PERMANENT', code: settled.code });
            expect(read.failure?.message).not.toBe('');
          } else {
            expect(recorded.dlq).toEqual([]);
          }
          const counts = world.emulator.callCounts();
          for (const op of ['StartTaskContact', 'GetTaskTemplate']) {
            expect(counts[op]?.InvalidParameterException ?? 0).toBe(0);
            expect(counts[op]?.InvalidRequestException ?? 0).toBe(0);
          }
          expect(counts.StartTaskContact?.ResourceNotFoundException ?? 0).toBe(0);
        }),
        { numRuns: NUM_RUNS, seed: SEED },
      );
      // The generator reaches both sides: tasks and refusals.
      expect(outcomes.created ?? 0).toBeGreaterThan(0);
      expect(Object.keys(outcomes).filter((k) => k.startsWith('parked')).length).toBeGreaterThan(2);
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('fuzz: mutated rules through processRecord', () => {
  const world = useInProcessConnect();

  it(
    'settles every event under any rule validateRule accepts, and never sends Connect an invalid request',
    async () => {
      const outcomes = { accepted: 0, created: 0, parked: 0 };
      await fc.assert(
        fc.asyncProperty(mutatedRuleCaseArb, async ({ rule, body, attributes }) => {
          // Prepare
          const checked = validateRule(rule);
          if (!checked.ok) {
            expect(checked.errors.length).toBeGreaterThan(0);
            return;
          }
          outcomes.accepted += 1;
          const recorded: Recorded = { dlq: [], visibility: [] };
          // Per run, so a counterexample (and its shrinking) names the rule that sent the invalid request.
          const before = { ...(world.emulator.callCounts().StartTaskContact ?? {}) };
          // Act
          const outcome = await processRecord(
            sqsRecord({ body, messageAttributes: attributes }),
            deps(world.connect, recorded, [compileRule(checked.rule)]),
          );
          // Assess
          expect(recorded.visibility).toEqual([]);
          if (outcome.status === 'parked') {
            outcomes.parked += 1;
            expect(outcome.failureClass).toBe('PERMANENT');
            expect(outcome.code).not.toBe('');
            expect(outcome.reason).not.toBe('');
            expect(recorded.dlq).toHaveLength(1);
          } else {
            outcomes.created += outcome.status === 'created' ? 1 : 0;
            expect(recorded.dlq).toEqual([]);
          }
          const counts = world.emulator.callCounts().StartTaskContact ?? {};
          expect((counts.InvalidParameterException ?? 0) - (before.InvalidParameterException ?? 0)).toBe(0);
          expect((counts.InvalidRequestException ?? 0) - (before.InvalidRequestException ?? 0)).toBe(0);
        }),
        { numRuns: Math.ceil(NUM_RUNS / 2), seed: SEED },
      );
      expect(outcomes.created).toBeGreaterThan(0);
      expect(outcomes.parked).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );
});
