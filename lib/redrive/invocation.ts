/**
 * One invocation of the redrive function: the event decides the mode.
 *
 * - `{ "action": "redrive" }` — the EventBridge schedule (serverless.yml): scheduled mode. `max`,
 *   `maxScan`, `filter` and `dryRun` may be added.
 * - `{ "filter": {...}, "max"?: n, "dryRun"?: bool }` — ops replay (`aws lambda invoke`): every DLQ
 *   message matching the filter is replayed, whatever its class. `filter: {}` means every message and
 *   must be written out: an event without `action` or `filter` is refused, so an empty test event
 *   cannot replay the whole DLQ.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import type { Logger } from '#lib/observability/logger.ts';
import { RedriveEventError } from './errors.ts';
import type { DlqFilter } from './filter.ts';
import { type RedriveDeps, type RedriveOptions, type RedriveSummary, runRedrive } from './redrive.ts';

// zod/mini (bundled into the Lambda functions) loads no locale: English messages as in classic zod.
z.config(en());

const nonEmpty = () => z.string().check(z.minLength(1));

const filterSchema = z.strictObject({
  source: z.optional(nonEmpty()),
  class: z.optional(z.enum(['TRANSIENT', 'OVER_QUOTA', 'PERMANENT', 'EXHAUSTED'])),
  code: z.optional(nonEmpty()),
  olderThanSeconds: z.optional(z.number().check(z.nonnegative())),
  ruleId: z.optional(nonEmpty()),
  messageIds: z.optional(z.array(nonEmpty())),
}) satisfies z.ZodMiniType<DlqFilter>;

const common = {
  filter: z.optional(filterSchema),
  max: z.optional(z.number().check(z.int(), z.positive())),
  maxScan: z.optional(z.number().check(z.int(), z.positive(), z.lte(100_000))),
  dryRun: z.optional(z.boolean()),
};

const scheduledEvent = z.object({ action: z.literal('redrive'), ...common });
const opsEvent = z.object({ action: z.optional(z.literal('replay')), ...common, filter: filterSchema });

/** Parses the invocation event into run options (without the runtime hooks). */
export function parseRedriveEvent(
  event: unknown,
): Omit<RedriveOptions, 'remainingTimeMs' | 'pace' | 'onProgress'> {
  const scheduled = scheduledEvent.safeParse(event);
  if (scheduled.success) {
    const { action: _action, ...rest } = scheduled.data;
    return { mode: 'scheduled', ...rest };
  }
  const ops = opsEvent.safeParse(event);
  if (ops.success) {
    const { action: _action, ...rest } = ops.data;
    return { mode: 'ops-replay', ...rest };
  }
  const issues = ops.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new RedriveEventError(
    `expected {"action":"redrive"} (schedule) or {"filter":{...},"max"?,"dryRun"?} (ops replay): ${issues}`,
  );
}

type RedriveMetricName = 'Replayed' | 'Deferred' | 'Exhausted' | 'Superseded' | 'RedriveProblems';

/** Where an invocation's counts and log lines go (a Powertools `Logger` is a `Logger` as it is). */
export type RedriveObservability = {
  count(name: RedriveMetricName, value: number): void;
  logger: Logger;
};

/**
 * Handles one invocation.
 * Input: the event, the run's deps, Lambda's remaining time, the metrics/log port.
 * Output: the run summary (ops invocations read it in the response).
 * Primary course: parse the event, run the redrive, emit Replayed/Deferred/Exhausted (not for a dry
 * run) and RedriveProblems, log one summary line and one warning per problem message (ids and the
 * reason only, never contents).
 */
export async function handleRedriveInvocation(
  deps: RedriveDeps,
  event: unknown,
  runtime: { remainingTimeMs?: () => number; observe: RedriveObservability },
): Promise<RedriveSummary> {
  const options = parseRedriveEvent(event);
  const summary = await runRedrive(deps, {
    ...options,
    ...(runtime.remainingTimeMs ? { remainingTimeMs: runtime.remainingTimeMs } : {}),
  });
  const { count, logger } = runtime.observe;
  if (!summary.dryRun) {
    count('Replayed', summary.replayed);
    count('Deferred', summary.deferred);
    count('Exhausted', summary.exhausted);
    count('Superseded', summary.superseded);
  }
  // Always at least this one: every invocation publishes a metric.
  count('RedriveProblems', summary.problems.length);
  for (const problem of summary.problems) logger.warn('DLQ message needs ops', { ...problem });
  logger.info('redrive finished', {
    mode: summary.mode,
    dryRun: summary.dryRun,
    scanned: summary.scanned,
    replayed: summary.replayed,
    deferred: summary.deferred,
    exhausted: summary.exhausted,
    permanentUntouched: summary.permanentUntouched,
    superseded: summary.superseded,
    skipped: summary.skipped,
    problems: summary.problems.length,
    stoppedBy: summary.stoppedBy,
  });
  return summary;
}
