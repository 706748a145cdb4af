import { isObject } from '#lib/guards.ts';
import { type JsonObject, memberReaders } from '../json-members.ts';
import { missingParameter, SqsApiError } from './errors.ts';

/**
 * Typed readers for the JSON request members. A member of the wrong JSON type is a
 * `SerializationException`, as with the real service; a required member that is absent is
 * `MissingParameter`.
 */

export type { JsonObject } from '../json-members.ts';

/** A JSON object (lib/guards.ts). */
export const isJsonObject: (value: unknown) => value is JsonObject = isObject;

export const {
  optionalString,
  requiredString,
  optionalInteger,
  optionalStringList,
  optionalStringMap,
  optionalObjectList,
} = memberReaders({
  wrongType: (name, expected) =>
    new SqsApiError('SerializationException', `Member ${name} must be ${expected}.`),
  missing: missingParameter,
});
