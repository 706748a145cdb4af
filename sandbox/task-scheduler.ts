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

export interface TaskScheduleInfo {
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

export function startTaskScheduler(options: TaskSchedulerOptions): TaskScheduler {
  const createdAt = now();
  const states = new Map<string, State>();
  for (const schedule of options.schedules) {
    states.set(schedule.name, {
      schedule,
      checkedUpTo: createdAt - 1,
      createdAt,
      sent: [],
      sentCount: 0,
      dropped: 0,
      next: undefined,
      lastError: null,
    });
  }
  let active = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let unsubscribe: (() => void) | undefined;

  const send = (state: State, scheduledMs: number): Promise<void> => {
    const body = renderOccurrence(state.schedule, scheduledMs);
    const run = async () => {
      try {
        await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: body }));
        state.sentCount += 1;
        state.sent.push(formatScheduledTime(scheduledMs));
        if (state.sent.length > 20) state.sent.shift();
        state.lastError = null;
      } catch (error) {
        state.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        options.onError?.(state.schedule.name, error);
      }
    };
    // One send at a time, in time order: occurrences reach the queue in the order they were due.
    const result = chain.then(run);
    chain = result;
    return result;
  };

  const nextOf = (state: State, after: number) =>
    nextOccurrences(state.schedule, after, 1, state.createdAt)[0];

  function check(): void {
    if (!active || stopped) return;
    const t = now();
    for (const state of states.values()) {
      if (state.schedule.state !== 'ENABLED') continue;
      const due = nextOccurrences(state.schedule, state.checkedUpTo, MAX_PER_MOVE + 1, state.createdAt, t);
      if (due.length > MAX_PER_MOVE) {
        const last = due.pop() as number;
        state.dropped += countUpTo(state, last, t) - MAX_PER_MOVE;
      }
      for (const ms of due.slice(0, MAX_PER_MOVE)) void send(state, ms);
      state.checkedUpTo = t;
      state.next = nextOf(state, t);
    }
    arm();
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

  function arm(): void {
    clearTimeout(timer);
    if (!active || stopped) return;
    const next = Math.min(
      ...[...states.values()].map((s) => (s.schedule.state === 'ENABLED' ? (s.next ?? Infinity) : Infinity)),
    );
    if (!Number.isFinite(next)) return;
    timer = setTimeout(check, Math.min(Math.max(0, next - now()), MAX_TIMEOUT_MS));
    timer.unref();
  }

  function resume(): void {
    if (active || stopped) return;
    active = true;
    const t = now();
    for (const state of states.values()) {
      // Occurrences while paused are not invented afterwards.
      state.checkedUpTo = Math.max(state.checkedUpTo, t - 1);
      state.next = nextOf(state, state.checkedUpTo);
    }
    unsubscribe = onClockAdvance(() => check());
    check();
  }

  if (options.start !== false) resume();

  return {
    list: () =>
      [...states.values()].map((s) => ({
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
      })),
    schedules: () => options.schedules,
    deliver(name, scheduledMs) {
      const state = states.get(name);
      if (!state) return Promise.reject(new TypeError(`No task schedule named "${name}"`));
      return send(state, scheduledMs);
    },
    flush: async () => {
      let seen: Promise<void> | undefined;
      while (seen !== chain) {
        seen = chain;
        await seen;
      }
    },
    resume,
    pause() {
      active = false;
      clearTimeout(timer);
      unsubscribe?.();
      unsubscribe = undefined;
    },
    running: () => active,
    async stop() {
      stopped = true;
      active = false;
      clearTimeout(timer);
      unsubscribe?.();
      await chain;
    },
  };
}
