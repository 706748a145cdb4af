import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ScheduleRun,
  type Scheduler,
  SchedulerStoppedError,
  startScheduler,
  UnknownScheduleError,
} from '#sandbox/scheduler.ts';

/**
 * Job runs that last until the test ends them: `end()` finishes the oldest run still going (after
 * letting queued promise callbacks start it, at most a few microtask turns).
 */
function controlledRuns() {
  const pending: Array<() => void> = [];
  return {
    run: () => new Promise<void>((resolve) => pending.push(resolve)),
    async end(): Promise<void> {
      for (let turn = 0; turn < 20 && pending.length === 0; turn++) await Promise.resolve();
      pending.shift()?.();
      await Promise.resolve();
    },
  };
}

describe('startScheduler', () => {
  let scheduler: Scheduler | undefined;

  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });

  afterEach(async () => {
    // Runs still in progress wait on fake timers: let them finish so stop() can resolve.
    const stopping = scheduler?.stop();
    await vi.runAllTimersAsync();
    await stopping;
    scheduler = undefined;
    vi.useRealTimers();
  });

  it('runs each job on its own rate, the first run one period after start', async () => {
    // Prepare
    const sweeps: unknown[] = [];
    const redrives: unknown[] = [];
    scheduler = startScheduler({
      jobs: [
        { name: 'sweep', rateMs: 60_000, input: { action: 'sweep' }, invoke: async (i) => sweeps.push(i) },
        {
          name: 'redrive',
          rateMs: 300_000,
          input: { action: 'redrive' },
          invoke: async (i) => redrives.push(i),
        },
      ],
    });

    // Act
    await vi.advanceTimersByTimeAsync(59_999);
    const beforeFirstPeriod = sweeps.length;
    await vi.advanceTimersByTimeAsync(600_001);

    // Assess
    expect(beforeFirstPeriod).toBe(0);
    expect(sweeps).toHaveLength(11);
    expect(sweeps[0]).toEqual({ action: 'sweep' });
    expect(redrives).toHaveLength(2);
  });

  it('never overlaps runs of one job: a tick during a long run is skipped', async () => {
    // Prepare
    let running = 0;
    let peak = 0;
    let runs = 0;
    const slow = controlledRuns();
    scheduler = startScheduler({
      jobs: [
        {
          name: 'slow',
          rateMs: 1_000,
          invoke: async () => {
            running++;
            peak = Math.max(peak, running);
            await slow.run();
            running--;
            runs++;
          },
        },
      ],
    });

    // Act: run 1 starts at 1 s and lasts past the ticks at 2 s and 3 s; run 2 starts at 4 s
    await vi.advanceTimersByTimeAsync(3_000);
    await slow.end();
    await vi.advanceTimersByTimeAsync(1_000);
    await slow.end();

    // Assess
    expect(peak).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    const [info] = scheduler.list();
    expect(info?.skipped).toBeGreaterThan(0);
    expect(info?.skipped).toBe(2);
    expect(info?.runs).toBe(runs);
  });

  it('keeps the schedule going after a failed run and reports the failure', async () => {
    // Prepare
    const runs: ScheduleRun[] = [];
    let calls = 0;
    scheduler = startScheduler({
      jobs: [
        {
          name: 'flaky',
          rateMs: 1_000,
          invoke: async () => {
            calls++;
            if (calls === 1) throw new Error('table not ready');
            return { swept: calls };
          },
        },
      ],
      onRun: (run) => runs.push(run),
    });

    // Act
    await vi.advanceTimersByTimeAsync(2_000);

    // Assess
    expect(runs.map((r) => r.trigger)).toEqual(['rate', 'rate']);
    expect(runs[0]?.error).toMatchObject({ message: 'table not ready' });
    expect(runs[1]?.result).toEqual({ swept: 2 });
    expect(scheduler.list()[0]).toMatchObject({ runs: 2, failures: 1, lastError: null });
  });

  it('runs a job on demand with its own copy of the input and returns the result', async () => {
    // Prepare
    const input = { action: 'sweep', limit: 5 };
    const received: unknown[] = [];
    scheduler = startScheduler({
      jobs: [
        {
          name: 'sweep',
          rateMs: Number.POSITIVE_INFINITY,
          input,
          invoke: async (i) => {
            received.push(i);
            (i as { limit: number }).limit = 0;
            return { transferred: 3 };
          },
        },
      ],
    });

    // Act
    const result = await scheduler.runNow('sweep');
    const withOverride = await scheduler.runNow('sweep', { action: 'transfer', contactId: 'c-1' });

    // Assess
    expect(result).toEqual({ transferred: 3 });
    expect(withOverride).toEqual({ transferred: 3 });
    expect(received[0]).toEqual({ action: 'sweep', limit: 0 });
    expect(input.limit).toBe(5);
    expect(received[1]).toMatchObject({ action: 'transfer', contactId: 'c-1' });
  });

  it('never runs an on-demand job (rate Infinity) by itself', async () => {
    // Prepare
    const invoke = vi.fn(async () => undefined);
    scheduler = startScheduler({ jobs: [{ name: 'manual', rateMs: Number.POSITIVE_INFINITY, invoke }] });

    // Act
    await vi.advanceTimersByTimeAsync(86_400_000);

    // Assess
    expect(invoke).not.toHaveBeenCalled();
    expect(scheduler.list()[0]).toMatchObject({ name: 'manual', rateMs: null, nextRunAt: null });
  });

  it('waits for the running run before a runNow, and rejects with the job error', async () => {
    // Prepare
    const order: string[] = [];
    let calls = 0;
    const job = controlledRuns();
    scheduler = startScheduler({
      jobs: [
        {
          name: 'job',
          rateMs: 1_000,
          invoke: async () => {
            const n = ++calls;
            order.push(`start ${n}`);
            await job.run();
            order.push(`end ${n}`);
            if (n === 2) throw new Error('boom');
          },
        },
      ],
    });
    await vi.advanceTimersByTimeAsync(1_000);

    // Act: the manual run is asked for while run 1 is still going
    const manual = scheduler.runNow('job');
    const outcome = manual.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await job.end();
    await job.end();

    // Assess
    expect(await outcome).toBe('boom');
    expect(order.slice(0, 4)).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('refuses unknown schedules and runs after stop', async () => {
    // Prepare
    const invoke = vi.fn(async () => undefined);
    scheduler = startScheduler({ jobs: [{ name: 'job', rateMs: 1_000, invoke }] });

    // Act
    const unknown = await scheduler.runNow('nope').catch((error: unknown) => error);
    await scheduler.stop();
    const afterStop = await scheduler.runNow('job').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(5_000);

    // Assess
    expect(unknown).toBeInstanceOf(UnknownScheduleError);
    expect(afterStop).toBeInstanceOf(SchedulerStoppedError);
    expect(invoke).not.toHaveBeenCalled();
  });

  it('lists each schedule with its rate, counters and next run', async () => {
    // Prepare
    scheduler = startScheduler({ jobs: [{ name: 'sweep', rateMs: 60_000, invoke: async () => 'ok' }] });

    // Act
    await vi.advanceTimersByTimeAsync(60_000);
    const [info] = scheduler.list();

    // Assess
    expect(info).toEqual({
      name: 'sweep',
      rateMs: 60_000,
      running: false,
      runs: 1,
      failures: 0,
      skipped: 0,
      lastRunAt: '2026-01-01T00:01:00.000Z',
      lastError: null,
      nextRunAt: '2026-01-01T00:02:00.000Z',
    });
  });

  it.each([
    [
      'a duplicate name',
      [
        { name: 'a', rateMs: 1, invoke: async () => 1 },
        { name: 'a', rateMs: 1, invoke: async () => 1 },
      ],
    ],
    ['a zero rate', [{ name: 'a', rateMs: 0, invoke: async () => 1 }]],
    ['a NaN rate', [{ name: 'a', rateMs: Number.NaN, invoke: async () => 1 }]],
    ['a missing name', [{ name: '', rateMs: 1, invoke: async () => 1 }]],
  ])('refuses %s with a TypeError', (_label, jobs) => {
    expect(() => startScheduler({ jobs })).toThrow(TypeError);
  });
});
