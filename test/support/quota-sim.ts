/**
 * A simulated Connect quota on virtual time (vitest fake timers): one token bucket shared by the
 * budgets under test and by an outside caller the service cannot see. Unit tests drive it; the real
 * figures come from `npm run bench -- quota` against the sandbox.
 */
import { vi } from 'vitest';
import type { Budget } from '#lib/budget/budget.ts';
import type { Lane } from '#lib/lanes.ts';
import { seededRandom as seeded } from './random.ts';

export interface Bucket {
  /** Takes one token at the current (fake) time; false = throttled. */
  take(): boolean;
}

export function tokenBucket(rate: number, burst: number): Bucket {
  let tokens = burst;
  let last = Date.now();
  return {
    take() {
      const t = Date.now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

export interface CallLog {
  /** Epoch ms of every successful call. */
  ok: number[];
  /** Epoch ms of every throttled call. */
  throttled: number[];
}

export const newLog = (): CallLog => ({ ok: [], throttled: [] });

/**
 * `workers` callers that each loop: acquire from the budget, call, on a throttle tell the budget and
 * try again (as the SDK's retry does), until `until` (epoch ms).
 */
export function driveBudget(
  budget: Budget,
  bucket: Bucket,
  options: { workers: number; until: number; lane?: Lane; log: CallLog; jitterMs?: number; seed?: number },
): Promise<void> {
  const random = seeded(options.seed ?? 1);
  const jitter = options.jitterMs ?? 0;
  const worker = async () => {
    while (Date.now() < options.until) {
      await budget.acquire(options.lane);
      // The network: a call reaches Connect a little after its slot, never exactly on it.
      if (jitter > 0) await new Promise((r) => setTimeout(r, random() * jitter));
      if (Date.now() >= options.until) return;
      if (bucket.take()) options.log.ok.push(Date.now());
      else {
        options.log.throttled.push(Date.now());
        budget.throttled();
      }
    }
  };
  return Promise.all(Array.from({ length: options.workers }, worker)).then(() => {});
}

export { seededRandom as seeded } from './random.ts';

/**
 * An outside caller: one call every `everyMs` on average (uniform in 0.5–1.5 × everyMs, like an
 * integration driven by its own traffic) from `from` to `until`, no retries.
 */
export function outsideCaller(
  bucket: Bucket,
  options: { everyMs: number; from: number; until: number; log: CallLog; seed?: number },
): void {
  const random = seeded(options.seed ?? 2);
  const tick = () => {
    const t = Date.now();
    if (t >= options.until) return;
    if (t >= options.from) {
      if (bucket.take()) options.log.ok.push(t);
      else options.log.throttled.push(t);
    }
    setTimeout(tick, options.everyMs * (0.5 + random()));
  };
  setTimeout(tick, Math.max(0, options.from - Date.now()));
}

/** Calls per second in [from, to). */
export function rateIn(times: readonly number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length / ((to - from) / 1000);
}

/** Advances fake time in steps, letting promises settle between them. */
export async function runFor(ms: number, stepMs = 1000): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) await vi.advanceTimersByTimeAsync(stepMs);
}

/** Advances fake time until `work` settles (waiters still queued at the end get their slots). */
export async function runUntil(work: Promise<unknown>, limitMs = 600_000): Promise<void> {
  let settled = false;
  void work.finally(() => {
    settled = true;
  });
  for (let t = 0; !settled && t < limitMs; t += 1000) await vi.advanceTimersByTimeAsync(1000);
  await work;
}
