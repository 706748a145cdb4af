/**
 * Effects: what must happen because of a write, recorded with that write (the outbox) so that a
 * crash between the write and the effect loses nothing. The writer performs them at once
 * (`drainEffects`, drain.ts); the contact events sweep performs what a crashed writer left, found
 * through the ledger's pending index. Each effect is acknowledged once done; performing one twice is
 * harmless (an outcome carries a deterministic id; a release of an event whose task exists is skipped).
 */
import { releaseEffectId } from '#lib/idempotency/ids.ts';
import type { Outcome } from './outcome.ts';

export type Effect =
  /** Put this outcome on the outcome bus. */
  | { id: string; kind: 'publish'; outcome: Outcome }
  /** A task of `instanceId` ended: send the oldest OVER_QUOTA events waiting for it back, `slots` of them. */
  | { id: string; kind: 'release'; instanceId: string; slots: number };

/** The publish effect of an outcome (its id is the outcome's). */
export function publishEffect(outcome: Outcome): Effect {
  return { id: outcome.id, kind: 'publish', outcome };
}

/** The release effect of the task `clientToken` of `instanceId` ending: one slot. */
export function releaseEffect(clientToken: string, instanceId: string): Effect {
  return { id: releaseEffectId(clientToken), kind: 'release', instanceId, slots: 1 };
}
