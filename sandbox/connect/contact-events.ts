/**
 * Publishes the emulator's contact events through a sink (the sandbox EventBridge's default bus),
 * with the faults of `contactEvents` in the emulator config (`config.ts`, ContactEventsFaults).
 *
 * The event is built when the contact changes (a snapshot), then, per emission: dropped with
 * `dropRate`; else delivered, and a second time with `repeatRate` (the same envelope: id, time and
 * detail); each delivery at once, or after a real-time delay drawn from `delayMs`. Without `reorder`
 * a delayed delivery never goes before an earlier one (it waits for the latest scheduled); with it,
 * each keeps its own delay, so later events overtake earlier ones. Draws use the emulator's `random`
 * (the sandbox's injected generator), or one seeded with `seed`; a fault whose rate is 0 draws
 * nothing, so turning faults off leaves the other faults' draws as they were.
 *
 * Delayed deliveries: `flush()` waits for them; `drain()` (on stop) delivers the waiting ones at once,
 * in the order of their due times, so none is lost; `discard()` (on reset) drops them and starts the
 * counts again from the number it dropped.
 */

import { seededRandom } from '#common/random.ts';
import type { EventEnvelope } from '../events/envelope.ts';
import type { ContactEventsFaults } from './config.ts';

export interface ContactEventStats {
  /** Events the emulator produced. */
  emitted: number;
  /** Deliveries made to the sink (repeats included). */
  delivered: number;
  dropped: number;
  repeated: number;
  /** Delayed deliveries not made yet. */
  pending: number;
  /** Delayed deliveries dropped by the last reset. */
  discarded: number;
  /** Deliveries the sink refused (its error is not the emulator's). */
  failed: number;
}

export interface ContactEventEmitter {
  emit(event: EventEnvelope): void;
  /** Resolves once no delayed delivery is waiting. */
  flush(): Promise<void>;
  /** Delivers every waiting delivery now, in due order. */
  drain(): void;
  /** Drops every waiting delivery; the counts start again (`discarded`: how many it dropped). */
  discard(): void;
  /** Draws from a generator seeded with `seed`, or (undefined) from the emulator's randomness again. */
  reseed(seed: number | undefined): void;
  stats(): ContactEventStats;
}

interface Pending {
  dueAt: number;
  /** Emission order, for deliveries due at the same instant. */
  seq: number;
  event: EventEnvelope;
  timer: NodeJS.Timeout;
}

const byDue = (a: Pending, b: Pending) => a.dueAt - b.dueAt || a.seq - b.seq;

export function createContactEventEmitter(options: {
  /** Where events go; without one, emissions are counted and go nowhere. */
  sink?: (event: EventEnvelope) => void;
  faults: () => ContactEventsFaults;
  random: () => number;
}): ContactEventEmitter {
  const { sink, faults } = options;
  let random = options.random;
  const pending = new Set<Pending>();
  const waiters: Array<() => void> = [];
  let lastDueAt = 0;
  let seq = 0;
  const zero = { emitted: 0, delivered: 0, dropped: 0, repeated: 0, discarded: 0, failed: 0 };
  let counts = { ...zero };
  const chance = (rate: number) => rate > 0 && random() < rate;

  const deliver = (event: EventEnvelope) => {
    counts.delivered += 1;
    try {
      sink?.(event);
    } catch {
      counts.failed += 1;
    }
  };
  const settle = () => {
    if (pending.size === 0) for (const wake of waiters.splice(0)) wake();
  };
  /**
   * A timer fired: delivers `p` and every delivery due before it, in due order (timers of nearly
   * equal due times may fire out of order; the deliveries do not).
   */
  const fire = (p: Pending) => {
    const due = [...pending].filter((q) => byDue(q, p) <= 0).sort(byDue);
    for (const q of due) {
      clearTimeout(q.timer);
      pending.delete(q);
      deliver(q.event);
    }
    settle();
  };
  const schedule = (event: EventEnvelope, f: ContactEventsFaults) => {
    if (f.delayMs === null) {
      deliver(event);
      return;
    }
    const now = performance.now();
    let dueAt = now + f.delayMs.min + random() * (f.delayMs.max - f.delayMs.min);
    if (!f.reorder) dueAt = Math.max(dueAt, lastDueAt);
    lastDueAt = Math.max(lastDueAt, dueAt);
    seq += 1;
    const p: Pending = { dueAt, seq, event, timer: setTimeout(() => fire(p), dueAt - now) };
    p.timer.unref();
    pending.add(p);
  };

  return {
    emit(event) {
      counts.emitted += 1;
      const f = faults();
      if (chance(f.dropRate)) {
        counts.dropped += 1;
        return;
      }
      const copies = chance(f.repeatRate) ? 2 : 1;
      if (copies === 2) counts.repeated += 1;
      for (let i = 0; i < copies; i += 1) schedule(event, f);
    },
    flush: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    drain() {
      const last = [...pending].sort(byDue).at(-1);
      if (last) fire(last);
    },
    discard() {
      for (const p of pending) clearTimeout(p.timer);
      counts = { ...zero, discarded: pending.size };
      pending.clear();
      settle();
    },
    reseed(seed) {
      random = seed === undefined ? options.random : seededRandom(seed);
    },
    stats: () => ({ ...counts, pending: pending.size }),
  };
}
