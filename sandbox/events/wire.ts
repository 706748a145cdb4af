/**
 * The EventBridge emulator's request readers: a member of the wrong JSON type is a
 * SerializationException, an absent required member a ValidationException (as AWS answers both);
 * and the paging of the List operations (`Limit` 1..100, `NextToken` an offset).
 */
import { type JsonObject, memberReaders } from '../json-members.ts';
import { EventsApiError, validationError } from './errors.ts';

export type { JsonObject } from '../json-members.ts';

const readers = memberReaders({
  wrongType: (name, expected) =>
    new EventsApiError('SerializationException', `Member ${name} must be ${expected}.`),
  missing: (name) => validationError(name, null, 'Member must not be null'),
});
export const { optionalString, requiredString, optionalStringList, optionalObjectList } = readers;
const { optionalInteger } = readers;

/** One page of `items`: at most `Limit` (1..100, default 100) from the offset `NextToken` carries. */
export function page<T>(items: readonly T[], input: JsonObject): { items: T[]; NextToken?: string } {
  const limit = optionalInteger(input, 'Limit') ?? 100;
  if (limit < 1 || limit > 100) {
    throw validationError('limit', limit, 'Member must have value between 1 and 100');
  }
  const token = optionalString(input, 'NextToken');
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0 || offset > items.length) {
    throw validationError('nextToken', token, 'Member must be a token from a previous response');
  }
  const end = offset + limit;
  return { items: items.slice(offset, end), ...(end < items.length && { NextToken: String(end) }) };
}
