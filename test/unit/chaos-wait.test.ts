/**
 * The chaos run's wait policy (bench/chaos/wait.ts) on a scripted pipeline: a pass waits as long as
 * it progresses, is stuck only after nothing moved for longer than an invocation may run, and has a
 * ceiling that grows with the volume. No network, no real time.
 */
import { describe, expect, it } from 'vitest';
import { type PassProbe, type Progress, waitForPass, waitPolicy } from '#bench/chaos/wait.ts';

const FUNCTION_TIMEOUT_MS = 60_000;

/**
 * A pipeline that goes idle at `idleAtMs` (never, when absent) and whose counters at a time are
 * `counters(ms)`; each idle check takes its whole slice unless the pipeline goes idle within it.
 */
function scripted(counters: (ms: number) => Progress, idleAtMs?: number): PassProbe {
  let now = 0;
  return {
    async idle(ms) {
      if (idleAtMs !== undefined && now + ms >= idleAtMs) {
        now = Math.max(now, idleAtMs);
        return true;
      }
      now += ms;
      return false;
    },
    progress: async () => counters(now),
    now: () => now,
  };
}

/** One record handled per second until `untilMs`, then none. */
const recordsUntil = (untilMs: number) => (ms: number) => ({
  'records handled': Math.floor(Math.min(ms, untilMs) / 1000),
});

describe('chaos wait policy', () => {
  it('keeps waiting past 120 s while records keep being handled, until the pass is idle', async () => {
    // Prepare: a 6,000-message first pass that takes 10 minutes, progressing all along.
    const policy = waitPolicy({ messages: 6_000, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
    const probe = scripted(recordsUntil(Number.POSITIVE_INFINITY), 600_000);

    // Act
    const outcome = await waitForPass('first pass', probe, policy);

    // Assess
    expect(outcome).toEqual({ idle: true, waitedMs: 600_000 });
  });

  it('takes a queue depth that moves as progress, whichever way it moves', async () => {
    // Prepare: no counter rises; the lane queues swing between 40 and 60 messages every 10 s for 5 min.
    const policy = waitPolicy({ messages: 1_000, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
    const probe = scripted(
      (ms) => ({ 'lane queues visible': Math.floor(ms / 10_000) % 2 === 0 ? 40 : 60 }),
      300_000,
    );

    // Act
    const outcome = await waitForPass('round 2, drain', probe, policy);

    // Assess
    expect(outcome.idle).toBe(true);
  });

  it('calls a pass stuck once nothing progressed for longer than the function timeout, with the counts so far', async () => {
    // Prepare: progress for 200 s, then nothing; never idle.
    const policy = waitPolicy({ messages: 6_000, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
    const probe = scripted((ms) => ({ ...recordsUntil(200_000)(ms), 'DLQ messages': 17 }));

    // Act
    const outcome = await waitForPass('round 3, drain', probe, policy);

    // Assess: given up one stall window after the last change (to a slice), never sooner.
    expect(policy.stallMs).toBeGreaterThan(FUNCTION_TIMEOUT_MS);
    expect(outcome.idle).toBe(false);
    expect(outcome.waitedMs).toBeGreaterThanOrEqual(200_000 + policy.stallMs);
    expect(outcome.waitedMs).toBeLessThanOrEqual(200_000 + policy.stallMs + policy.sliceMs);
    if (outcome.idle) return;
    expect(outcome.progress).toEqual({ 'records handled': 200, 'DLQ messages': 17 });
    expect(outcome.reason).toMatch(/^round 3, drain: nothing progressed for \d+ s \(waited \d+ s in all; /);
    expect(outcome.reason).toContain('records handled 200, DLQ messages 17');
  });

  it('gives a larger run a longer ceiling, and stops a pass that keeps moving past its own', async () => {
    // Prepare: a pass that progresses forever.
    const small = waitPolicy({ messages: 300, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
    const large = waitPolicy({ messages: 10_000, functionTimeoutMs: FUNCTION_TIMEOUT_MS });
    const endless = () => scripted(recordsUntil(Number.POSITIVE_INFINITY));

    // Act
    const smallOutcome = await waitForPass('first pass', endless(), small);
    const largeOutcome = await waitForPass('first pass', endless(), large);

    // Assess
    expect(large.ceilingMs).toBeGreaterThan(small.ceilingMs);
    expect(smallOutcome.idle).toBe(false);
    expect(smallOutcome.waitedMs).toBeGreaterThanOrEqual(small.ceilingMs);
    expect(smallOutcome.waitedMs).toBeLessThan(small.ceilingMs + small.sliceMs);
    expect(largeOutcome.waitedMs).toBeGreaterThanOrEqual(large.ceilingMs);
    if (smallOutcome.idle) return;
    expect(smallOutcome.reason).toContain('still busy after');
  });
});
