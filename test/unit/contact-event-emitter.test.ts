import { describe, expect, it } from 'vitest';
import type { ContactEventsFaults } from '#sandbox/connect/config.ts';
import { createContactEventEmitter } from '#sandbox/connect/contact-events.ts';
import type { EventEnvelope } from '#sandbox/events/envelope.ts';

const EVENT = { id: 'e-1', detail: { eventType: 'QUEUED' } } as unknown as EventEnvelope;
const NO_FAULTS: ContactEventsFaults = { repeatRate: 0, dropRate: 0, delayMs: null, reorder: false };

function emitter(faults: Partial<ContactEventsFaults>, random: () => number) {
  const delivered: EventEnvelope[] = [];
  const e = createContactEventEmitter({
    sink: (event) => delivered.push(event),
    faults: () => ({ ...NO_FAULTS, ...faults }),
    random,
  });
  return { e, delivered };
}

const refuse = () => {
  throw new Error('drew from the injected random');
};

describe('the contact event emitter', () => {
  it('draws its faults from the injected random', () => {
    // Prepare
    const low = emitter({ dropRate: 0.5, repeatRate: 0.5 }, () => 0.1);
    const high = emitter({ dropRate: 0.5, repeatRate: 0.5 }, () => 0.9);

    // Act
    low.e.emit(EVENT);
    high.e.emit(EVENT);

    // Assess
    expect(low.delivered).toEqual([]);
    expect(high.delivered).toEqual([EVENT]);
    expect(low.e.stats()).toMatchObject({ emitted: 1, dropped: 1, delivered: 0 });
  });

  it('repeats an event as the same envelope', () => {
    // Prepare
    const draws = [0.9, 0.1];
    const { e, delivered } = emitter({ dropRate: 0.5, repeatRate: 0.5 }, () => draws.shift() ?? 1);

    // Act
    e.emit(EVENT);

    // Assess
    expect(delivered).toEqual([EVENT, EVENT]);
    expect(e.stats()).toMatchObject({ emitted: 1, repeated: 1, delivered: 2 });
  });

  it('draws nothing while every rate is 0 and there is no delay', () => {
    // Prepare
    const { e, delivered } = emitter({}, refuse);

    // Act
    e.emit(EVENT);

    // Assess
    expect(delivered).toEqual([EVENT]);
  });

  it('draws from a generator of its own once seeded, and from the injected one again after', () => {
    // Prepare
    const { e } = emitter({ dropRate: 0.5 }, refuse);

    // Act
    e.reseed(42);
    const seeded = () => e.emit(EVENT);
    seeded();
    e.reseed(undefined);
    const unseeded = () => e.emit(EVENT);

    // Assess
    expect(unseeded).toThrow(/injected random/);
    expect(e.stats().emitted).toBe(2);
  });

  it('delivers the waiting delayed events on drain, in due order', () => {
    // Prepare
    const draws = [0.9, 0.1];
    const { e, delivered } = emitter(
      { delayMs: { min: 10_000, max: 20_000 }, reorder: true },
      () => draws.shift() ?? 0,
    );
    const later = { ...EVENT, id: 'e-2' };
    e.emit(EVENT);
    e.emit(later);

    // Act
    const before = delivered.length;
    e.drain();

    // Assess
    expect(before).toBe(0);
    expect(delivered.map((d) => d.id)).toEqual(['e-2', 'e-1']);
    expect(e.stats().pending).toBe(0);
  });
});
