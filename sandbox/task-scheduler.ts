/**
 * The sandbox's EventBridge Scheduler for the task schedules of serverless.yml (`custom.taskSchedules`):
 * runs them on the movable clock of `lib/clock.ts` and sends each occurrence's message to the ingest
 * queue, rendered exactly as Scheduler renders the target Input (`renderOccurrence`).
 *
 * - Time: each enabled schedule is due at its next occurrence (cron, rate and at computed by croner in
 *   the schedule's time zone, daylight saving included; `lib/schedules/expression.ts`). A real-time
 *   timer fires it when the wall clock gets there; `advanceClock` fires at once every occurrence the
 *   move passed, in time order, each once.
 * - Nothing is invented: occurrences before the scheduler started (the schedule's "creation") or
 *   before `resume()` are never sent; a rate() schedule without a start date counts from the start.
 * - The flexible time window is not simulated: the sandbox sends at the scheduled time (on AWS the
 *   message may arrive up to the window later, with the same scheduled time in it).
 * - `deliver(name, scheduledMs)` sends one occurrence's message again (what a Scheduler retry or a
 *   duplicate delivery looks like to the ingest queue).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { now, onClockAdvance } from '#lib/clock.ts';
import { nextOccurrences, renderOccurrence, type TaskSchedule } from '#lib/schedules/declaration.ts';
import { formatScheduledTime } from '#lib/schedules/expression.ts';

const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** At most this many occurrences of one schedule per clock move; the rest are counted as dropped. */
const MAX_PER_MOVE = 1000;

interface TaskScheduleInfo {
  name: string;
  expression: string;
  timezone: string;
  state: 'ENABLED' | 'DISABLED';
  /** Occurrences sent (scheduled times, ISO), oldest first; the last 20. */
  sent: string[];
  sentCount: number;
  /** Occurrences one clock move passed beyond MAX_PER_MOVE (not sent). */
  dropped: number;
  nextAt: string | null;
  lastError: string | null;
}

export interface TaskScheduler {
  list(): TaskScheduleInfo[];
  schedules(): readonly TaskSchedule[];
  /** Sends the message of one occurrence of a schedule now (any state), as Scheduler would. */
  deliver(name: string, scheduledMs: number): Promise<void>;
  /** Resolves when every send started so far has finished. */
  flush(): Promise<void>;
  /** Starts firing on the clock, from now on (occurrences before now are not sent). Idempotent. */
  resume(): void;
  /** Stops firing on the clock (deliver still works). Idempotent. */
  pause(): void;
  running(): boolean;
  stop(): Promise<void>;
}

export interface TaskSchedulerOptions {
  schedules: readonly TaskSchedule[];
  sqs: SQSClient;
  queueUrl: string;
  /** Fire on the clock from the start (default true); false: paused until `resume()`. */
  start?: boolean;
  onError?: (name: string, error: unknown) => void;
}

interface State {
  schedule: TaskSchedule;
  /** Occurrences at or before this instant have been handled. */
  checkedUpTo: number;
  createdAt: number;
  sent: string[];
  sentCount: number;
  dropped: number;
  next: number | undefined;
  lastError: string | null;
}

/** The scheduler's mutable state, shared by the steps below. */
interface Run {
  options: TaskSchedulerOptions;
  states: Map<string, State>;
  active: boolean;
  stopped: boolean;
  timer: NodeJS.Timeout | undefined;
  /** The sends, one after another: occurrences reach the queue in the order they were due. */
  chain: Promise<void>;
  unsubscribe: (() => void) | undefined;
}

export function startTaskScheduler(options: TaskSchedulerOptions): TaskScheduler {
  const createdAt = now();
  const run: Run = {
    options,
    states: new Map(options.schedules.map((schedule) => [schedule.name, newState(schedule, createdAt)])),
    active: false,
    stopped: false,
    timer: undefined,
    chain: Promise.resolve(),
    unsubscribe: undefined,
  };
  if (options.start !== false) resume(run);
  return {
    list: () => [...run.states.values()].map((state) => info(state, run.active)),
    schedules: () => options.schedules,
    deliver(name, scheduledMs) {
      const state = run.states.get(name);
      if (!state) return Promise.reject(new TypeError(`No task schedule named "${name}"`));
      return send(run, state, scheduledMs);
    },
    flush: async () => {
      let seen: Promise<void> | undefined;
      while (seen !== run.chain) {
        seen = run.chain;
        await seen;
      }
    },
    resume: () => resume(run),
    pause: () => pause(run),
    running: () => run.active,
    async stop() {
      run.stopped = true;
      pause(run);
      await run.chain;
    },
  };
}

function newState(schedule: TaskSchedule, createdAt: number): State {
  return {
    schedule,
    checkedUpTo: createdAt - 1,
    createdAt,
    sent: [],
    sentCount: 0,
    dropped: 0,
    next: undefined,
    lastError: null,
  };
}

function info(s: State, active: boolean): TaskScheduleInfo {
  return {
    name: s.schedule.name,
    expression: s.schedule.expression.text,
    timezone: s.schedule.timezone,
    state: s.schedule.state,
    sent: [...s.sent],
    sentCount: s.sentCount,
    dropped: s.dropped,
    nextAt:
      active && s.schedule.state === 'ENABLED' && s.next !== undefined
        ? new Date(s.next).toISOString()
        : null,
    lastError: s.lastError,
  };
}

/** Sends one occurrence's message after the sends before it; a failure is recorded, not thrown. */
function send(run: Run, state: State, scheduledMs: number): Promise<void> {
  const body = renderOccurrence(state.schedule, scheduledMs);
  const sendOne = async () => {
    try {
      await run.options.sqs.send(
        new SendMessageCommand({ QueueUrl: run.options.queueUrl, MessageBody: body }),
      );
      state.sentCount += 1;
      state.sent.push(formatScheduledTime(scheduledMs));
      if (state.sent.length > 20) state.sent.shift();
      state.lastError = null;
    } catch (error) {
      state.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      run.options.onError?.(state.schedule.name, error);
    }
  };
  const result = run.chain.then(sendOne);
  run.chain = result;
  return result;
}

function nextOf(state: State, after: number): number | undefined {
  return nextOccurrences(state.schedule, after, 1, state.createdAt)[0];
}

/** Sends every occurrence due since the last check (at most MAX_PER_MOVE a schedule), then re-arms. */
function check(run: Run): void {
  if (!run.active || run.stopped) return;
  const t = now();
  for (const state of run.states.values()) {
    if (state.schedule.state !== 'ENABLED') continue;
    const due = nextOccurrences(state.schedule, state.checkedUpTo, MAX_PER_MOVE + 1, state.createdAt, t);
    if (due.length > MAX_PER_MOVE) {
      const last = due.pop() as number;
      state.dropped += countUpTo(state, last, t) - MAX_PER_MOVE;
    }
    for (const ms of due.slice(0, MAX_PER_MOVE)) void send(run, state, ms);
    state.checkedUpTo = t;
    state.next = nextOf(state, t);
  }
  arm(run);
}

/** How many occurrences lie in (checkedUpTo, t] when there are more than MAX_PER_MOVE (bounded walk). */
function countUpTo(state: State, from: number, t: number): number {
  let count = MAX_PER_MOVE + 1;
  let cursor = from;
  for (;;) {
    const batch = nextOccurrences(state.schedule, cursor, 1000, state.createdAt, t);
    count += batch.length;
    if (batch.length < 1000) return count;
    cursor = batch.at(-1) as number;
  }
}

/** A real-time timer for the earliest next occurrence of the enabled schedules. */
function arm(run: Run): void {
  clearTimeout(run.timer);
  if (!run.active || run.stopped) return;
  const next = Math.min(
    ...[...run.states.values()].map((s) =>
      s.schedule.state === 'ENABLED' ? (s.next ?? Infinity) : Infinity,
    ),
  );
  if (!Number.isFinite(next)) return;
  run.timer = setTimeout(() => check(run), Math.min(Math.max(0, next - now()), MAX_TIMEOUT_MS));
  run.timer.unref();
}

function resume(run: Run): void {
  if (run.active || run.stopped) return;
  run.active = true;
  const t = now();
  for (const state of run.states.values()) {
    // Occurrences while paused are not invented afterwards.
    state.checkedUpTo = Math.max(state.checkedUpTo, t - 1);
    state.next = nextOf(state, state.checkedUpTo);
  }
  run.unsubscribe = onClockAdvance(() => check(run));
  check(run);
}

function pause(run: Run): void {
  run.active = false;
  clearTimeout(run.timer);
  run.unsubscribe?.();
  run.unsubscribe = undefined;
}
