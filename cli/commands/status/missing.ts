/**
 * Whether a read failed because its queue or table does not exist: `status` reports such a resource
 * as missing instead of failing (collect.ts for the lanes, the DLQ and the budget table, open-tasks.ts
 * for the ledger).
 */
const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);
const MISSING_TABLE = new Set(['ResourceNotFoundException']);

/** True when the error, or one of its causes, is named one of `names` (or carries one as its Code). */
function causedBy(error: unknown, names: ReadonlySet<string>): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { Code?: unknown }).Code;
    if (names.has(e.name) || (typeof code === 'string' && names.has(code))) return true;
  }
  return false;
}

/** True when the error (or one of its causes) says the queue does not exist. */
export const isMissingQueue = (error: unknown) => causedBy(error, MISSING_QUEUE);

/** True when the error (or one of its causes: a store wraps the SDK's) says the table does not exist. */
export const isMissingTable = (error: unknown) => causedBy(error, MISSING_TABLE);
