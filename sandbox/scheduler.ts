/**
 * The sandbox's EventBridge scheduler: runs the `schedule` events of serverless.yml on their rates in
 * real time, and on demand for the admin API ("run a schedule now").
 *
 * Differences from EventBridge, on purpose: runs of one job never overlap (a tick that finds the job
 * still running is skipped, and `runNow` waits for the running run to finish first), and a job whose
 * `rateMs` is `Infinity` only runs on demand. Timing is wall-clock (`Date.now()`), not the movable
 * business clock of `lib/clock.ts`: advancing that clock does not fire schedules (use `runNow`).
 */
import { SandboxError } from './errors.ts';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

interface ScheduledJob {
  name: string;
  /** Period in ms (see `parseRate`); `Infinity` = on demand only. The first run is one period after start. */
  rateMs: number;
  invoke: (input: unknown) => Promise<unknown>;
  /**
   * The constant input EventBridge passes; each run gets its own copy.
   * @default `{}`
   */
  input?: unknown;
}

export interface ScheduleRun {
  name: string;
  trigger: 'rate' | 'manual';
  /** Wall-clock ISO time the run started. */
  startedAt: string;
  durationMs: number;
  result?: unknown;
  error?: unknown;
}

interface ScheduleInfo {
  name: string;
  /** Null when the job only runs on demand. */
  rateMs: number | null;
  running: boolean;
  runs: number;
  failures: number;
  /** Ticks skipped because the previous run had not finished. */
  skipped: number;
  lastRunAt: string | null;
  lastError: string | null;
  nextRunAt: string | null;
}

export interface SchedulerOptions {
  jobs: ScheduledJob[];
  onRun?: (run: ScheduleRun) => void;
}

export interface Scheduler {
  /** Runs a job now (after its current run, if any) and resolves with its result; rejects with its error. */
  runNow(name: string, input?: unknown): Promise<unknown>;
  /** Stops the timers; resolves when runs in progress have finished. Idempotent. */
  stop(): Promise<void>;
  list(): ScheduleInfo[];
}

class SchedulerError extends SandboxError {}

export class UnknownScheduleError extends SchedulerError {
  readonly schedule: string;
  constructor(name: string) {
    super(`No schedule named "${name}"`);
    this.schedule = name;
  }
}

export class SchedulerStoppedError extends SchedulerError {
  constructor() {
    super('The scheduler is stopped');
  }
}

interface JobState {
  job: ScheduledJob;
  /** Settles when the last queued run of this job has finished; runs are chained on it. */
  tail: Promise<unknown>;
  running: boolean;
  queued: number;
  runs: number;
  failures: number;
  skipped: number;
  lastRunAt: string | null;
  lastError: string | null;
  nextDue: number | null;
  timer: NodeJS.Timeout | undefined;
}

function validate(jobs: ScheduledJob[]): void {
  const names = new Set<string>();
  for (const job of jobs) {
    if (!job.name) throw new TypeError('startScheduler: every job needs a name');
    if (names.has(job.name)) throw new TypeError(`startScheduler: duplicate job name "${job.name}"`);
    names.add(job.name);
    if (typeof job.invoke !== 'function')
      throw new TypeError(`startScheduler: job "${job.name}" has no invoke`);
    if (Number.isNaN(job.rateMs) || job.rateMs <= 0) {
      throw new TypeError(`startScheduler: job "${job.name}" rateMs must be > 0 (Infinity = on demand only)`);
    }
  }
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * Starts the scheduler.
 *
 * Input: the jobs (name, period, invoke, constant input) and an optional run observer.
 * Output: `runNow`, `stop` and `list`.
 * Primary course: each job with a finite rate is due one period after start and then every period
 * (fixed rate, no drift); a due tick runs the job unless it is still running; errors are reported to
 * `onRun` and never stop the schedule.
 */
export function startScheduler(opts: SchedulerOptions): Scheduler {
  validate(opts.jobs);
  let stopped = false;
  const states = new Map<string, JobState>();

  function execute(state: JobState, trigger: ScheduleRun['trigger'], input: unknown): Promise<unknown> {
    const run = async () => {
      state.running = true;
      state.queued--;
      const startedAt = new Date().toISOString();
      const started = Date.now();
      state.lastRunAt = startedAt;
      try {
        const result = await state.job.invoke(structuredClone(input));
        state.runs++;
        state.lastError = null;
        opts.onRun?.({ name: state.job.name, trigger, startedAt, durationMs: Date.now() - started, result });
        return result;
      } catch (error) {
        state.runs++;
        state.failures++;
        state.lastError = describeError(error);
        opts.onRun?.({ name: state.job.name, trigger, startedAt, durationMs: Date.now() - started, error });
        throw error;
      } finally {
        state.running = false;
      }
    };
    state.queued++;
    const result = state.tail.then(run, run);
    state.tail = result.catch(() => undefined);
    return result;
  }

  function arm(state: JobState): void {
    const { rateMs } = state.job;
    if (stopped || !Number.isFinite(rateMs)) return;
    const nowMs = Date.now();
    let due = (state.nextDue ?? nowMs) + rateMs;
    // A run (or an event-loop stall) longer than the period: keep the phase, drop the missed ticks.
    if (due <= nowMs) due += Math.ceil((nowMs - due) / rateMs) * rateMs;
    state.nextDue = due;
    wait(state);
  }

  /** Sleeps until the job is due, in steps that setTimeout can represent (≈ 24.8 days at most). */
  function wait(state: JobState): void {
    const remaining = (state.nextDue ?? 0) - Date.now();
    state.timer = setTimeout(
      () => (Date.now() < (state.nextDue ?? 0) ? wait(state) : tick(state)),
      Math.min(Math.max(0, remaining), MAX_TIMEOUT_MS),
    );
    state.timer.unref();
  }

  function tick(state: JobState): void {
    if (stopped) return;
    if (state.running || state.queued > 0) state.skipped++;
    else execute(state, 'rate', state.job.input ?? {}).catch(() => undefined);
    arm(state);
  }

  for (const job of opts.jobs) {
    const state: JobState = {
      job,
      tail: Promise.resolve(),
      running: false,
      queued: 0,
      runs: 0,
      failures: 0,
      skipped: 0,
      lastRunAt: null,
      lastError: null,
      nextDue: null,
      timer: undefined,
    };
    states.set(job.name, state);
    arm(state);
  }

  return {
    runNow(name, input) {
      const state = states.get(name);
      if (!state) return Promise.reject(new UnknownScheduleError(name));
      if (stopped) return Promise.reject(new SchedulerStoppedError());
      return execute(state, 'manual', input === undefined ? (state.job.input ?? {}) : input);
    },
    async stop() {
      stopped = true;
      for (const state of states.values()) clearTimeout(state.timer);
      await Promise.all([...states.values()].map((state) => state.tail));
    },
    list: () =>
      [...states.values()].map((state) => ({
        name: state.job.name,
        rateMs: Number.isFinite(state.job.rateMs) ? state.job.rateMs : null,
        running: state.running,
        runs: state.runs,
        failures: state.failures,
        skipped: state.skipped,
        lastRunAt: state.lastRunAt,
        lastError: state.lastError,
        nextRunAt: !stopped && state.nextDue !== null ? new Date(state.nextDue).toISOString() : null,
      })),
  };
}
