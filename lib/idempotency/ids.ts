/**
 * The deterministic ids other than ClientTokens (those and the ledger keys are in token.ts): each
 * depends only on the logical identity of what it names, so a redelivered or replayed event maps to
 * the same id. Their values are pinned by test/unit/ids.test.ts: changing one would let a replay
 * schedule a second transfer or miss a recorded task.
 */
import { createHash } from 'node:crypto';

function sha256Hex32(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);
}

/** What an event-requested transfer asks for; its plan id is derived from exactly this. */
export interface EventPlanFields {
  instanceId: string;
  contactId: string;
  queueId?: string | undefined;
  userId?: string | undefined;
  contactFlowId: string;
  at?: number | undefined;
  requestId?: string | undefined;
}

/**
 * The plan id of an event-requested transfer: `evt-` + 32 hex characters of sha256 over the
 * JSON array of what the request asks for (a JSON array, so no separator ambiguity).
 */
export function eventPlanId(fields: EventPlanFields): string {
  return `evt-${sha256Hex32(
    JSON.stringify([
      fields.instanceId,
      fields.contactId,
      fields.queueId ?? null,
      fields.userId ?? null,
      fields.contactFlowId,
      fields.at ?? null,
      fields.requestId ?? null,
    ]),
  )}`;
}

/**
 * The request id of a transfer a rule asks for on behalf of one event: 32 hex characters of sha256
 * over `source NUL eventId`. One requesting event, one transfer: a redelivery maps to the same plan id.
 */
export function transferRequestId(source: string, eventId: string): string {
  return sha256Hex32(`${source}\u0000${eventId}`);
}

/** The envelope id (and default idempotency key) of one task schedule occurrence: `<name>@<scheduled time>`. */
export function occurrenceId(name: string, scheduledTime: string): string {
  return `${name}@${scheduledTime}`;
}

/**
 * The id of one task outcome (lib/outcomes/outcome.ts): `o-` + 32 hex characters of sha256 over the
 * JSON array `[type, ...parts]`. The parts name the task (its ClientToken) or the event, and what
 * happened to it, so every copy of one outcome has the same id.
 */
export function outcomeId(type: string, parts: readonly string[]): string {
  return `o-${sha256Hex32(JSON.stringify([type, ...parts]))}`;
}

/** The id of the effect "a task of this ClientToken ended: release one waiting event" (lib/outcomes/effects.ts). */
export function releaseEffectId(clientToken: string): string {
  return `r-${sha256Hex32(JSON.stringify(['release', clientToken]))}`;
}
