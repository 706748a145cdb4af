/**
 * What the fuzz suites share: the seed and run count, the JSON mutator, the sample rules and
 * messages they mutate, and the rule-ish strings both rule fuzzers draw from.
 *
 *   FUZZ_SEED=$RANDOM FUZZ_RUNS=50000 npx vitest run test/unit/fuzz-rules.test.ts
 */
import fc from 'fast-check';
import { CHAOS_RULES } from '#common/chaos/scenario.ts';
import { readSample } from './lambda.ts';

/** Fixed for CI; FUZZ_SEED explores further. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20240501);

/** The number of runs: FUZZ_RUNS when set, else the suite's default. */
export function fuzzRuns(defaultRuns: number): number {
  return Number(process.env.FUZZ_RUNS ?? defaultRuns);
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonPath = (string | number)[];

/** Every path to a value inside `value` (objects and arrays), the root excluded. */
export function jsonPaths(value: Json, prefix: JsonPath = []): JsonPath[] {
  if (value === null || typeof value !== 'object') return [];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => {
    const child = (value as Record<string | number, Json>)[k] as Json;
    return [[...prefix, k], ...jsonPaths(child, [...prefix, k])];
  });
}

/** The value at `path` inside `value`. */
export function valueAt(value: Json, path: JsonPath): Json {
  let at = value;
  for (const key of path) at = (at as Record<string | number, Json>)[key] as Json;
  return at;
}

/** Sets the value at `path` (not the root) inside `value`, in place. */
export function setAt(value: Json, path: JsonPath, replacement: Json): void {
  const parent = valueAt(value, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path[path.length - 1] as string | number] = replacement;
}

/**
 * One change to a JSON document: at the path chosen by `at` modulo the number of paths, delete the
 * value (an array element is spliced out, unless `deleteInArrays` is false: then it is replaced),
 * replace it, or add `key: value` to it when it is an object (else replace it).
 */
export interface JsonMutation {
  at: number;
  action: 'delete' | 'replace' | 'add';
  key?: string;
  value: Json;
}

/** Applies mutations to a deep copy of `doc`. */
export function mutateJson(
  doc: Json,
  mutations: readonly JsonMutation[],
  options: { deleteInArrays?: boolean } = {},
): Json {
  const copy = structuredClone(doc);
  for (const m of mutations) {
    const all = jsonPaths(copy);
    if (all.length === 0) break;
    const path = all[m.at % all.length] as JsonPath;
    const parent = valueAt(copy, path.slice(0, -1)) as Record<string | number, Json>;
    const last = path[path.length - 1] as string | number;
    const target = parent[last];
    if (m.action === 'delete' && Array.isArray(parent) && options.deleteInArrays !== false) {
      parent.splice(Number(last), 1);
    } else if (m.action === 'delete' && !Array.isArray(parent)) {
      delete parent[last];
    } else if (
      m.action === 'add' &&
      target !== null &&
      typeof target === 'object' &&
      !Array.isArray(target)
    ) {
      target[m.key ?? ''] = m.value;
    } else {
      parent[last] = m.value;
    }
  }
  return copy;
}

/** The sample rule files under events/rules that the fuzzers start from. */
export const SAMPLE_RULE_FILES = [
  'crm-case.json',
  'monitoring-alarm.json',
  'monitoring-ok-drop.json',
  'orders.json',
  'returns-inactive.json',
  'shipping-sns.json',
] as const;

/** The sample rules, then the chaos rules: every rule document the fuzzers mutate. */
export function baseRules(): Json[] {
  return [...SAMPLE_RULE_FILES.map((name) => readSample<Json>(`rules/${name}`)), ...(CHAOS_RULES as Json[])];
}

export interface SampleMessage {
  body: Json;
  /** String message attributes by name. */
  attributes: Record<string, string>;
}

/** The sample messages under events/messages: CloudEvents, EventBridge, raw JSON, SNS (in that order). */
export function sampleMessages(): SampleMessage[] {
  return ['cloudevents.json', 'eventbridge.json', 'raw.json', 'sns.json'].map((name) => {
    const sample = readSample<{ body: Json; messageAttributes: Record<string, { StringValue: string }> }>(
      `messages/${name}`,
    );
    return {
      body: sample.body,
      attributes: Object.fromEntries(
        Object.entries(sample.messageAttributes).map(([k, v]) => [k, v.StringValue]),
      ),
    };
  });
}

/** Strings that look like what rules hold: JSONata (valid and broken), ids, keys, durations. */
export const ruleishString: fc.Arbitrary<string> = fc.oneof(
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
