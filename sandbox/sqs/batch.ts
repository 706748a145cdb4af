import { SqsApiError } from './errors.ts';
import { type JsonObject, optionalObjectList, requiredString } from './wire.ts';

/** SQS: at most 10 entries per batch request, and 10 messages per receive. */
export const MAX_BATCH_ENTRIES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;

/** The `Entries` of a batch request, validated as a whole (count, ids); a problem fails the request. */
export function batchEntries(input: JsonObject): JsonObject[] {
  const entries = optionalObjectList(input, 'Entries') ?? [];
  if (entries.length === 0)
    throw new SqsApiError('EmptyBatchRequest', 'There should be at least one batch entry in the request.');
  if (entries.length > MAX_BATCH_ENTRIES)
    throw new SqsApiError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = requiredString(entry, 'Id');
    if (!BATCH_ENTRY_ID.test(id))
      throw new SqsApiError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    if (seen.has(id)) throw new SqsApiError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    seen.add(id);
  }
  return entries;
}

/** True for an error that fails one batch entry; protocol (type) errors and bugs fail the whole request. */
export function isEntryError(error: unknown): error is SqsApiError {
  return error instanceof SqsApiError && error.code !== 'SerializationException';
}

/** Runs `fn` per entry; entry errors become `Failed` entries, anything else fails the request. */
export function perEntry<T>(entries: JsonObject[], fn: (entry: JsonObject) => T) {
  const Successful: Array<T & { Id: string }> = [];
  const Failed: Array<{ Id: string; SenderFault: boolean; Code: string; Message: string }> = [];
  for (const entry of entries) {
    const Id = entry.Id as string;
    try {
      Successful.push({ Id, ...fn(entry) });
    } catch (error) {
      if (!isEntryError(error)) throw error;
      Failed.push({ Id, SenderFault: error.senderFault, Code: error.entryCode, Message: error.message });
    }
  }
  return { Successful, Failed };
}
