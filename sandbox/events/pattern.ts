/**
 * EventBridge event patterns ("Amazon EventBridge event patterns", EventBridge User Guide), compiled
 * once into a predicate over an event as EventBridge delivers it (`{version, id, detail-type, source,
 * account, time, region, resources, detail}`, detail parsed).
 *
 *   const matches = compileEventPattern({ source: ['aws.connect'], detail: { channel: ['TASK'] } });
 *   matches(event); // true or false
 *
 * - A pattern is a JSON object; every field holds an array (the values it may match: exact values or
 *   operators, `pattern-operators.ts`) or an object (a nested pattern). Fields are ANDed, the items
 *   of an array ORed; `$or: [pattern, pattern, ...]` ORs whole sub-patterns at its level.
 * - A field that is an array in the event matches when any element matches. For a nested pattern
 *   the whole nested pattern must match within one element (array consistency).
 * - A pattern field whose path does not exist in the event (a parent missing, or not an object)
 *   sees no values, so only `{"exists": false}` matches it.
 *
 * A pattern EventBridge would refuse throws EventPatternError with the reason.
 */
import { isObject } from '#lib/guards.ts';
import { EventPatternError } from './errors.ts';
import { compileLeaf } from './pattern-operators.ts';

export type EventPredicate = (event: unknown) => boolean;

type ObjectTest = (object: Readonly<Record<string, unknown>>) => boolean;

/** Compiles a pattern (the parsed JSON object); throws EventPatternError when it is not valid. */
export function compileEventPattern(pattern: unknown): EventPredicate {
  if (!isObject(pattern)) throw new EventPatternError('the event pattern must be a JSON object');
  if (Object.keys(pattern).length === 0) throw new EventPatternError('the event pattern is empty');
  const test = compileObject(pattern, '');
  return (event) => isObject(event) && test(event);
}

/** Parses and compiles a pattern given as JSON text (PutRule, TestEventPattern). */
export function parseEventPattern(text: string): EventPredicate {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EventPatternError('the event pattern is not valid JSON');
  }
  return compileEventPattern(parsed);
}

function compileObject(pattern: Readonly<Record<string, unknown>>, path: string): ObjectTest {
  const tests: ObjectTest[] = [];
  for (const [key, child] of Object.entries(pattern)) {
    const where = path === '' ? key : `${path}.${key}`;
    if (key === '$or') {
      tests.push(compileOr(child, path === '' ? '$or' : where));
    } else if (Array.isArray(child)) {
      const leaf = compileLeaf(child, where);
      tests.push((object) => leaf(leafValues(fieldOf(object, key))));
    } else if (isObject(child)) {
      if (Object.keys(child).length === 0) throw new EventPatternError(`"${where}" is an empty object`);
      const nested = compileObject(child, where);
      tests.push((object) => someObject(fieldOf(object, key), nested));
    } else {
      throw new EventPatternError(`"${where}" must be an object or an array`);
    }
  }
  return (object) => tests.every((test) => test(object));
}

function compileOr(alternatives: unknown, where: string): ObjectTest {
  if (!Array.isArray(alternatives) || alternatives.length < 2 || !alternatives.every(isObject)) {
    throw new EventPatternError(`"${where}" must be an array of at least two pattern objects`);
  }
  const tests = alternatives.map((alternative) => compileObject(alternative, where));
  return (object) => tests.some((test) => test(object));
}

function fieldOf(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

const NOTHING: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A nested pattern over the value of a field: each object element of an array in turn, the object
 * itself, or, when there is no object at all, an empty one (every field below is absent).
 */
function someObject(value: unknown, test: ObjectTest): boolean {
  const objects = (Array.isArray(value) ? value.flat(Infinity) : [value]).filter(isObject);
  return objects.length === 0 ? test(NOTHING) : objects.some((object) => test(object));
}

/** The leaf values of a field: none when absent, arrays flattened, objects left out. */
function leafValues(value: unknown): unknown[] {
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value.flat(Infinity) : [value];
  return values.filter((v) => !isObject(v));
}
