/**
 * Performs the effects a write recorded (effects.ts) and acknowledges each one done, then settles the
 * item (lib/ledger/port.ts `OutboxLedger.settle`). What fails stays recorded for the contact events
 * sweep, which calls this again: a failure here is logged, never thrown, because the write that
 * recorded the effect has already succeeded.
 *
 * Input: the item's key and its effects (as just written, or as read back from the outbox).
 * Output: how many were done and how many are left.
 */
import type { OutboxLedger } from '#lib/ledger/port.ts';
import type { Logger } from '#lib/observability/logger.ts';
import type { Effect } from './effects.ts';
import type { OutcomePublisher } from './publisher.ts';

export interface DrainDeps {
  outbox: Pick<OutboxLedger, 'ackEffect' | 'settle'>;
  /** Absent: publish effects are left for the sweep (a function without the bus). */
  publisher?: OutcomePublisher;
  /** Sends waiting OVER_QUOTA events back; absent: release effects are left for the sweep. */
  release?: (instanceId: string, slots: number) => Promise<unknown>;
  log: Pick<Logger, 'warn'>;
  now: () => number;
}

export interface DrainResult {
  done: Effect[];
  left: number;
}

type ReleaseEffect = Extract<Effect, { kind: 'release' }>;
type PublishEffect = Extract<Effect, { kind: 'publish' }>;

/** The publish effects' outcomes as one publish; the accepted ones are done. */
async function publishAll(effects: readonly PublishEffect[], deps: DrainDeps): Promise<Effect[]> {
  if (effects.length === 0 || !deps.publisher) return [];
  try {
    const { failed } = await deps.publisher.publish(effects.map((e) => e.outcome));
    if (failed.length > 0)
      deps.log.warn('outcomes not accepted by the bus; the sweep retries them', { failed });
    return effects.filter((e) => !failed.includes(e.id));
  } catch (error) {
    deps.log.warn('could not publish outcomes; the sweep retries them', {
      ...(error instanceof Error ? { error } : {}),
      outcomes: effects.length,
    });
    return [];
  }
}

async function releaseOne(effect: ReleaseEffect, deps: DrainDeps): Promise<boolean> {
  if (!deps.release) return false;
  try {
    await deps.release(effect.instanceId, effect.slots);
    return true;
  } catch (error) {
    deps.log.warn('could not release waiting events; the sweep retries', {
      ...(error instanceof Error ? { error } : {}),
      instanceId: effect.instanceId,
    });
    return false;
  }
}

export async function drainEffects(
  key: string,
  effects: readonly Effect[],
  deps: DrainDeps,
): Promise<DrainResult> {
  const publishes = effects.filter((e): e is PublishEffect => e.kind === 'publish');
  const done = await publishAll(publishes, deps);
  for (const effect of effects) {
    if (effect.kind === 'release' && (await releaseOne(effect, deps))) done.push(effect);
  }
  try {
    for (const effect of done) await deps.outbox.ackEffect(key, effect, deps.now());
    if (done.length === effects.length) await deps.outbox.settle(key);
  } catch (error) {
    // Performed but not acknowledged: the sweep performs it again (an outcome keeps its id).
    deps.log.warn('could not acknowledge effects; the sweep sees them again', {
      ...(error instanceof Error ? { error } : {}),
    });
  }
  return { done, left: effects.length - done.length };
}
