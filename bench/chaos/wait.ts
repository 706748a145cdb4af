/**
 * How long a chaos pass may take: as long as it makes progress. A pass (the first one after the
 * sends, or one drain of a round) waits for the pipeline to be idle in short slices and samples
 * progress counters between them (records handled, Connect calls, queue depths...); it is stuck only
 * when none of them changed for `stallMs`, longer than one invocation of the ingest function may run.
 * A ceiling that grows with the volume stops a pass that keeps moving without ever ending.
 */

/** Named counters sampled between slices; any change in any of them is progress. */
export type Progress = Readonly<Record<string, number>>;

export interface WaitPolicy {
  /** Stuck when no counter changed for this long (ms). */
  stallMs: number;
  /** Give up after this long however the counters move (ms): a pass that never ends. */
  ceilingMs: number;
  /** One idle check waits this long before the counters are sampled again (ms). */
  sliceMs: number;
}

/** Above the function timeout: an invocation that runs to its timeout is not a stall. */
const STALL_MARGIN_MS = 30_000;
/** The ceiling: this much plus `CEILING_PER_MESSAGE_MS` per message of the run. */
const CEILING_BASE_MS = 120_000;
/**
 * Well above what a message costs even when the machine is shared: six 3,000-message runs at once on
 * 2 cores (load average 7) needed about 300 ms a message for their first pass, and a ceiling of 250 ms
 * stopped all six while they still progressed. A pass that stops progressing is caught by `stallMs`
 * long before this; the ceiling only ends a livelock that keeps the counters moving.
 */
const CEILING_PER_MESSAGE_MS = 500;
const SLICE_MS = 5_000;

/**
 * The policy of a run of `messages` messages (updates and closes included) whose ingest function
 * times out after `functionTimeoutMs`.
 */
export function waitPolicy(
  volume: { messages: number; functionTimeoutMs: number },
  overrides: Partial<WaitPolicy> = {},
): WaitPolicy {
  return {
    stallMs: volume.functionTimeoutMs + STALL_MARGIN_MS,
    ceilingMs: CEILING_BASE_MS + volume.messages * CEILING_PER_MESSAGE_MS,
    sliceMs: SLICE_MS,
    ...overrides,
  };
}

export interface PassProbe {
  /** Waits up to `ms` for the pipeline to be idle: true when it is, false when the slice ran out. */
  idle(ms: number): Promise<boolean>;
  progress(): Promise<Progress>;
  /** Monotonic ms. */
  now(): number;
}

export type PassOutcome =
  | { idle: true; waitedMs: number }
  | { idle: false; waitedMs: number; reason: string; progress: Progress };

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** "records handled 5210, Connect calls 6012, …": the counters as a person reads them. */
function formatProgress(progress: Progress): string {
  return Object.entries(progress)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

const changed = (a: Progress, b: Progress) => Object.keys({ ...a, ...b }).some((name) => a[name] !== b[name]);

/**
 * Waits for the pass `label` to end. Resolves idle, or not idle with why (no progress for
 * `stallMs`, or the ceiling reached) and the counters so far; never throws for a slow pass.
 */
export async function waitForPass(label: string, probe: PassProbe, policy: WaitPolicy): Promise<PassOutcome> {
  const started = probe.now();
  let last = await probe.progress();
  let lastChangeAt = started;
  for (;;) {
    if (await probe.idle(policy.sliceMs)) return { idle: true, waitedMs: probe.now() - started };
    const at = probe.now();
    const current = await probe.progress();
    if (changed(current, last)) {
      last = current;
      lastChangeAt = at;
    }
    const stuck = (why: string) => ({
      idle: false as const,
      waitedMs: at - started,
      reason: `${label}: ${why} (waited ${seconds(at - started)} in all; ${formatProgress(current)})`,
      progress: current,
    });
    if (at - lastChangeAt >= policy.stallMs)
      return stuck(`nothing progressed for ${seconds(at - lastChangeAt)}`);
    if (at - started >= policy.ceilingMs) {
      return stuck(`still busy after ${seconds(at - started)}, the most a pass of this volume may take`);
    }
  }
}
