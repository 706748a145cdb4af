import { isObject } from '#lib/guards.ts';
import { missingParameter, SqsApiError } from './errors.ts';

/**
 * Typed readers for the JSON request members. A member of the wrong JSON type is a
 * `SerializationException`, as with the real service; a required member that is absent is
 * `MissingParameter`.
 */

export type JsonObject = Record<string, unknown>;

function typeError(name: string, expected: string): SqsApiError {
  return new SqsApiError('SerializationException', `Member ${name} must be ${expected}.`);
}

/** A JSON object (lib/guards.ts). */
export const isJsonObject: (value: unknown) => value is JsonObject = isObject;

export function optionalString(input: JsonObject, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw typeError(name, 'a string');
  return value;
}

export function requiredString(input: JsonObject, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined) throw missingParameter(name);
  return value;
}

export function optionalInteger(input: JsonObject, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError(name, 'an integer');
  return value;
}

export function optionalStringList(input: JsonObject, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw typeError(name, 'a list of strings');
  return value as string[];
}

export function optionalObject(input: JsonObject, name: string): JsonObject | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw typeError(name, 'an object');
  return value;
}

export function optionalStringMap(input: JsonObject, name: string): Record<string, string> | undefined {
  const value = optionalObject(input, name);
  if (value === undefined) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw typeError(`${name}.${key}`, 'a string');
  }
  return value as Record<string, string>;
}

export function optionalObjectList(input: JsonObject, name: string): JsonObject[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every(isJsonObject)) throw typeError(name, 'a list of objects');
  return value;
}
