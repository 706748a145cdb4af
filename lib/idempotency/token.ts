/**
 * Deterministic ClientTokens for the Connect calls that create effects.
 *
 * Connect deduplicates StartTaskContact and TransferContact by `ClientToken`; the idempotency record
 * in DynamoDB is keyed by the same token. So a token must depend only on the logical identity of the
 * effect — never on the SQS message id, the receive count, the rule version or the time — and two
 * different effects must never share one.
 *
 * Derivation: `"cti1-" + kind + "-" + hex(sha256(JSON.stringify([kind, ...parts])))`.
 * JSON-encoding the parts as an array makes the encoding injective: `("a", "bc")` and `("ab", "c")`
 * encode to `["task","a","bc"]` and `["task","ab","c"]`, so no separator ambiguity is possible, and
 * the kind inside the hash separates task tokens from transfer tokens. The `cti1` prefix versions
 * the scheme: changing the derivation means a new prefix, never silently different tokens.
 * Length: 5 + 4 + 1 + 64 = 74 characters, far under the 500-character ClientToken limit
 * (StartTaskContact API reference).
 */
import { createHash } from 'node:crypto';
import { TokenDerivationError } from './errors.ts';

/** Version prefix of every token this module derives. */
export const TOKEN_VERSION_PREFIX = 'cti1-';

/** Throws unless every labelled part is non-empty (an empty one would make effects collide). */
function requireParts(what: string, parts: readonly (readonly [string, string])[]): void {
  for (const [label, value] of parts) {
    if (value.length === 0) {
      throw new TokenDerivationError(`${label} must be a non-empty string to derive a ${what}`);
    }
  }
}

function derive(kind: 'task' | 'xfer', parts: readonly [string, string][]): string {
  requireParts(`${kind} ClientToken`, parts);
  const encoded = JSON.stringify([kind, ...parts.map(([, value]) => value)]);
  const digest = createHash('sha256').update(encoded, 'utf8').digest('hex');
  return `${TOKEN_VERSION_PREFIX}${kind}-${digest}`;
}

/**
 * The StartTaskContact ClientToken of one logical event.
 *
 * Input: the Connect instance, the envelope source and the rule's idempotency key (default: the
 * envelope id). Output: a ≤ 500-character token, the same for the same inputs forever.
 */
export function taskClientToken(instanceId: string, source: string, idempotencyKey: string): string {
  return derive('task', [
    ['instanceId', instanceId],
    ['source', source],
    ['idempotencyKey', idempotencyKey],
  ]);
}

/**
 * The TransferContact ClientToken of one planned transfer of one contact.
 *
 * Input: the task's ContactId and the transfer plan id. Output: a ≤ 500-character token.
 */
export function transferClientToken(contactId: string, planId: string): string {
  return derive('xfer', [
    ['contactId', contactId],
    ['planId', planId],
  ]);
}

/** Prefix of the ledger's chain counter keys (never a `cti1-` token, so never a task's ledger entry). */
const CHAIN_KEY_PREFIX = 'chain#';

/**
 * The ledger key of the counter of tasks chained to one contact by PreviousContactId.
 *
 * Input: the Connect instance and the PreviousContactId. Output: `chain#<instanceId>#<previousContactId>`,
 * each part URI-encoded so a `#` inside one cannot make two chains share a key (Connect's UUIDs read
 * as themselves). At most 6 + 300 + 1 + 768 characters, far under DynamoDB's 2,048-byte key limit.
 */
export function chainCounterKey(instanceId: string, previousContactId: string): string {
  return ledgerKey(CHAIN_KEY_PREFIX, 'chain counter key', [
    ['instanceId', instanceId],
    ['previousContactId', previousContactId],
  ]);
}

/** `prefix` + the URI-encoded parts joined by `#`; every part must be a non-empty string. */
function ledgerKey(prefix: string, what: string, parts: readonly [string, string][]): string {
  requireParts(what, parts);
  return prefix + parts.map(([, value]) => encodeURIComponent(value)).join('#');
}

/** Prefix of the ledger's contact index keys (never a `cti1-` token, so never a task's ledger entry). */
const CONTACT_KEY_PREFIX = 'contact#';

/**
 * The ledger key of the index item that finds a task's entry from its ContactId.
 *
 * Input: the Connect instance and the task's ContactId. Output: `contact#<instanceId>#<contactId>`, each
 * part URI-encoded as in `chainCounterKey`.
 */
export function contactIndexKey(instanceId: string, contactId: string): string {
  return ledgerKey(CONTACT_KEY_PREFIX, 'contact index key', [
    ['instanceId', instanceId],
    ['contactId', contactId],
  ]);
}

/** Prefix of the ledger items of rejected events' outcomes (they have no entry of their own). */
export const OUTCOME_KEY_PREFIX = 'outcome#';

/** The ledger key of the outbox item holding the outcome `outcomeId` of an event without an entry. */
export function outcomeItemKey(outcomeId: string): string {
  return ledgerKey(OUTCOME_KEY_PREFIX, 'outcome item key', [['outcomeId', outcomeId]]);
}

/** Prefix of the ledger items of OVER_QUOTA events waiting for a slot. */
const WAITER_KEY_PREFIX = 'waiter#';

/** The ledger key of the waiter of the task `clientToken` (one per task, however often it parks). */
export function waiterKey(clientToken: string): string {
  return ledgerKey(WAITER_KEY_PREFIX, 'waiter key', [['clientToken', clientToken]]);
}

/** Prefix of the ledger items counting an instance's active-task slots in use. */
const SLOTS_KEY_PREFIX = 'slots#';

/** The ledger key of the slot count of `instanceId` (lib/capacity/gate.ts). */
export function slotsKey(instanceId: string): string {
  return ledgerKey(SLOTS_KEY_PREFIX, 'slot count key', [['instanceId', instanceId]]);
}
