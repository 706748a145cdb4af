import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '#lib/connect/rate-limiter.ts';

/** A virtual clock: sleep() advances it, so pacing is observable without real waiting. */
function virtualTime() {
  let t = 0;
  return {
    clock: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    now: () => t,
  };
}

describe('createRateLimiter', () => {
  it('lets the first call through at once and paces the next ones one interval apart', async () => {
    // Prepare
    const time = virtualTime();
    const limiter = createRateLimiter({ ratePerSecond: 2, clock: time.clock, sleep: time.sleep });
    const at: number[] = [];
    // Act
    for (let i = 0; i < 3; i++) {
      await limiter.acquire();
      at.push(time.now());
    }
    // Assess
    expect(at).toEqual([0, 500, 1000]);
  });

  it('with randomStart, makes the first call wait the missing part of one token', async () => {
    // Prepare
    const time = virtualTime();
    const limiter = createRateLimiter({
      ratePerSecond: 2,
      randomStart: true,
      random: () => 0.25,
      clock: time.clock,
      sleep: time.sleep,
    });
    // Act
    await limiter.acquire();
    // Assess: 0.25 of a token held, 0.75 × 500 ms missing
    expect(time.now()).toBe(375);
  });

  it('spreads limiters created together over one interval when their random draws differ', async () => {
    // Prepare
    const draws = [0.9, 0.6, 0.3, 0];
    const firstCalls: number[] = [];
    // Act
    for (const draw of draws) {
      const time = virtualTime();
      const limiter = createRateLimiter({
        ratePerSecond: 0.5,
        randomStart: true,
        random: () => draw,
        clock: time.clock,
        sleep: time.sleep,
      });
      await limiter.acquire();
      firstCalls.push(time.now());
    }
    // Assess
    expect(firstCalls).toEqual([200, 800, 1400, 2000]);
  });

  it('after throttled(), holds the next call back one interval plus a random part of another', async () => {
    // Prepare
    const time = virtualTime();
    const limiter = createRateLimiter({
      ratePerSecond: 2,
      random: () => 0.5,
      clock: time.clock,
      sleep: time.sleep,
    });
    await limiter.acquire();
    // Act
    limiter.throttled?.();
    await limiter.acquire();
    // Assess: 1.5 tokens missing at 500 ms each
    expect(time.now()).toBe(750);
  });

  it('does not let a throttle cost more than one interval plus the random part when the bucket was full', async () => {
    // Prepare
    const time = virtualTime();
    const limiter = createRateLimiter({
      ratePerSecond: 1,
      burst: 3,
      random: () => 0,
      clock: time.clock,
      sleep: time.sleep,
    });
    // Act
    limiter.throttled?.();
    await limiter.acquire();
    // Assess: the three banked tokens are dropped; the next call waits one whole interval
    expect(time.now()).toBe(1000);
  });

  it('never waits and accepts throttled() when shaping is off (rate Infinity)', async () => {
    // Prepare
    const time = virtualTime();
    const limiter = createRateLimiter({
      ratePerSecond: Number.POSITIVE_INFINITY,
      clock: time.clock,
      sleep: time.sleep,
    });
    // Act
    limiter.throttled?.();
    await limiter.acquire();
    await limiter.acquire();
    // Assess
    expect(time.now()).toBe(0);
  });
});
