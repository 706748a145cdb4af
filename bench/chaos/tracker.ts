/**
 * What the chaos run observes while it runs: the ingest's record outcomes (per status and failure
 * code), the lanes each task was started in, the outcomes of the CRM updates and closes, and the
 * invocations of the ingest and contactEvents functions (and how many were killed before their deletes).
 */
import type { SQSRecord } from 'aws-lambda';
import { increment } from '#common/chaos/report.ts';
import { CHAOS_EVENT_ATTRIBUTE } from '#common/chaos/scenario.ts';
import { RecordNotDoneError } from '#lib/ingest/errors.ts';
import type { IngestRuntime } from '#lib/ingest/handler.ts';
import { laneOfRecord } from '#lib/ingest/lane.ts';
import type { Lane } from '#lib/lanes.ts';
import { classifyError } from '#lib/retry/classify.ts';

type Outcome = Parameters<NonNullable<IngestRuntime['onOutcome']>>[1];

/** The counters and sets the ingest's outcomes and the poller's invocations feed. */
export function createTracker() {
  const t = {
    recordOutcomes: {} as Record<string, number>,
    /** ClientToken → the lanes whose deliveries created it or found it created. */
    startedIn: new Map<string, Set<Lane>>(),
    /** Tracking id of an update/complete → the outcomes its deliveries had (updated, completed, stale). */
    lifecycleOutcomes: new Map<string, Set<string>>(),
    invocations: 0,
    killedInvocations: 0,
    recordsHandled: 0,
    onOutcome(record: SQSRecord, outcome: Outcome): void {
      t.recordsHandled += 1;
      if (outcome.status === 'updated' || outcome.status === 'completed' || outcome.status === 'stale') {
        const id = record.messageAttributes?.[CHAOS_EVENT_ATTRIBUTE]?.stringValue ?? '';
        const seen = t.lifecycleOutcomes.get(id) ?? new Set<string>();
        seen.add(outcome.status);
        t.lifecycleOutcomes.set(id, seen);
      }
      if (outcome.status === 'created' || outcome.status === 'duplicate') {
        const lanes = t.startedIn.get(outcome.clientToken) ?? new Set<Lane>();
        lanes.add(laneOfRecord(record));
        t.startedIn.set(outcome.clientToken, lanes);
      }
      if (outcome.status === 'retry') {
        const { error } = outcome;
        increment(
          t.recordOutcomes,
          error instanceof RecordNotDoneError
            ? `retry ${error.failureClass} ${error.code}`
            : `retry (escaped) ${classifyError(error).code}`,
        );
      } else if (outcome.status === 'parked')
        increment(t.recordOutcomes, `parked ${outcome.failureClass} ${outcome.code}`);
      else increment(t.recordOutcomes, outcome.status);
    },
    contactEventInvocations: 0,
    killedContactEventInvocations: 0,
    onInvocation(name: string, info: { killed?: boolean }): void {
      if (name === 'contactEvents') {
        t.contactEventInvocations += 1;
        if (info.killed) t.killedContactEventInvocations += 1;
      }
      if (name !== 'ingest') return;
      t.invocations += 1;
      if (info.killed) t.killedInvocations += 1;
    },
  };
  return t;
}

export type Tracker = ReturnType<typeof createTracker>;
