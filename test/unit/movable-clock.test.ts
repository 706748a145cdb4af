/**
 * The sandbox's movable clock (sandbox/clock.ts): the one time every emulator and function of a
 * sandbox reads.
 */
import { describe, expect, it } from 'vitest';
import { createMovableClock } from '#sandbox/clock.ts';

describe('createMovableClock', () => {
  it('reads the wall clock plus every move so far', () => {
    // Prepare
    let wall = 1_000;
    const clock = createMovableClock({ wallClock: () => wall });

    // Act
    clock.advance(60_000);
    wall += 5;
    clock.advance(2_000);

    // Assess
    expect(clock.now()).toBe(63_005);
    expect(clock.offsetMs()).toBe(62_000);
  });

  it('tells each listener the new time after a move, until it is removed', () => {
    // Prepare
    const clock = createMovableClock({ wallClock: () => 0 });
    const heard: number[] = [];
    const remove = clock.onAdvance((at) => heard.push(at));

    // Act
    clock.advance(10);
    remove();
    clock.advance(10);

    // Assess
    expect(heard).toEqual([10]);
  });

  it('keeps two clocks apart: moving one moves nothing that reads the other', () => {
    // Prepare
    const one = createMovableClock({ wallClock: () => 0 });
    const other = createMovableClock({ wallClock: () => 0 });

    // Act
    one.advance(3_600_000);

    // Assess
    expect(one.now()).toBe(3_600_000);
    expect(other.now()).toBe(0);
  });

  it('refuses a negative or non-finite move and stays where it was', () => {
    // Prepare
    const clock = createMovableClock({ wallClock: () => 0 });

    // Act / Assess
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });
});
