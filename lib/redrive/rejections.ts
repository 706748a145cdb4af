/**
 * The task.rejected outcome of a message the scheduled redrive gives up on (EXHAUSTED: its OVER_QUOTA
 * or TRANSIENT rounds are spent), when its publisher asked for rejections: its create rule's `notify`
 * (the rule the failure record names), else the first create rule of its source that asks. The outcome
 * is recorded in the ledger's outbox; the contact events sweep publishes it (the redrive has no bus).
 * It carries identifiers and the failure only: the rule's `notify.data` needs the event, which the
 * redrive does not read.
 */
import { outcomeItemKey } from '#lib/idempotency/token.ts';
import type { OutboxLedger } from '#lib/ledger/port.ts';
import { publishEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, wants } from '#lib/outcomes/outcome.ts';
import type { FailureRecord } from '#lib/retry/failure-record.ts';
import { notifySchema } from '#lib/rules/schema.ts';
import type { RuleRecord } from '#lib/rules/store.ts';

/** Records the rejection of an EXHAUSTED message (its DLQ message id) when its publisher asks. */
export type RejectionRecorder = (failure: FailureRecord, dlqMessageId: string) => Promise<boolean>;

/** The `notify` of a stored create rule document; undefined for other rules and rules that ask none. */
function notifyOf(record: RuleRecord) {
  const { action, enabled, notify } = record.document;
  if ((action ?? 'create') !== 'create' || enabled === false || notify === undefined) return undefined;
  const parsed = notifySchema.safeParse(notify);
  return parsed.success ? parsed.data : undefined;
}

export function outboxRejections(deps: {
  rulesOf(source: string): Promise<readonly RuleRecord[]>;
  outbox: Pick<OutboxLedger, 'putEffects'>;
  now: () => number;
}): RejectionRecorder {
  return async (failure, dlqMessageId) => {
    const { source, eventId } = failure;
    if (source === undefined || eventId === undefined) return false;
    const rules = await deps.rulesOf(source);
    const own = rules.find((r) => r.ruleId === failure.ruleId && notifyOf(r) !== undefined);
    const asking = own ?? rules.find((r) => notifyOf(r)?.outcomes.includes('task.rejected'));
    if (asking === undefined || !wants(notifyOf(asking), 'task.rejected')) return false;
    const now = deps.now();
    const outcome = buildOutcome(
      'task.rejected',
      [source, eventId, 'EXHAUSTED', failure.code],
      `${source}/${eventId}`,
      now,
      {
        event: { source, id: eventId },
        ruleId: asking.ruleId,
        failure: { class: 'EXHAUSTED', code: failure.code, reason: failure.message, dlqMessageId },
      },
    );
    await deps.outbox.putEffects(outcomeItemKey(outcome.id), [publishEffect(outcome)], now);
    return true;
  };
}
