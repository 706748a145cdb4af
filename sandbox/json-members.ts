/**
 * Typed readers of the members of an AWS JSON protocol request (the SQS and EventBridge emulators).
 * Each emulator builds its set with its own errors: a member of the wrong JSON type, and a required
 * member that is absent. `null` counts as absent, as the services treat it.
 */
import { isObject } from '#lib/guards.ts';

export type JsonObject = Record<string, unknown>;

export interface MemberErrors {
  /** `name` is not of the JSON type `expected` (e.g. "a string"). */
  wrongType(name: string, expected: string): Error;
  /** The required member `name` is absent. */
  missing(name: string): Error;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isObjectList = (v: unknown): v is JsonObject[] => Array.isArray(v) && v.every(isObject);

/** The readers, raising `errors`. */
export function memberReaders(errors: MemberErrors) {
  function read<T>(input: JsonObject, name: string, is: (v: unknown) => v is T, expected: string) {
    const value = input[name];
    if (value === undefined || value === null) return undefined;
    if (!is(value)) throw errors.wrongType(name, expected);
    return value;
  }
  const optionalString = (input: JsonObject, name: string) => read(input, name, isString, 'a string');
  const optionalObject = (input: JsonObject, name: string) => read(input, name, isObject, 'an object');
  return {
    optionalString,
    requiredString(input: JsonObject, name: string): string {
      const value = optionalString(input, name);
      if (value === undefined) throw errors.missing(name);
      return value;
    },
    optionalInteger: (input: JsonObject, name: string) => read(input, name, isInteger, 'an integer'),
    optionalStringList: (input: JsonObject, name: string) =>
      read(input, name, isStringList, 'a list of strings'),
    optionalObject,
    optionalStringMap(input: JsonObject, name: string): Record<string, string> | undefined {
      const value = optionalObject(input, name);
      if (value === undefined) return undefined;
      for (const [key, item] of Object.entries(value)) {
        if (!isString(item)) throw errors.wrongType(`${name}.${key}`, 'a string');
      }
      return value as Record<string, string>;
    },
    optionalObjectList: (input: JsonObject, name: string) =>
      read(input, name, isObjectList, 'a list of objects'),
  };
}

/**
 * The request body as a JSON object (an empty body is `{}`); anything else is the error `invalid`
 * makes (both services answer SerializationException).
 */
export function parseObjectBody(
  body: Buffer,
  invalid: (message: string, cause?: unknown) => Error,
): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalid('The request body is not valid JSON.', error);
  }
  if (!isObject(parsed)) throw invalid('The request body must be a JSON object.');
  return parsed;
}
