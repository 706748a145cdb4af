/**
 * What ingest tells publishers and records for the capacity redrive, beside its main course:
 * - `task.created`: recorded with the task's ledger entry (one write), then published;
 * - `task.rejected`: an event parked PERMANENT or EXHAUSTED, recorded in an outbox item of its own
 *   after the DLQ send (a crash before it re-delivers the record, which parks again), then published;
 *   the first recorded rejection of an event wins: a later park of the same event (another DLQ message
 *   id) writes and publishes nothing new, so one outcome id always carries one content;
 * - an OVER_QUOTA event parked for the instance's active-task quota gets a waiter (lib/ledger/port.ts
 *   `Waiter`), so that a slot freed by a task's end sends it back at once (lib/capacity/release.ts).
 *
 * Which outcomes a publisher wants is its create rule's `notify`; a rejected event that reached no
 * create rule (no rule matched, or an update/complete rule) uses the first create rule of its source
 * that asks for `task.rejected`.
 */
import { FIRST_CHECK_MS } from '#lib/contact-events/sweep.ts';
import type { Envelope } from '#lib/envelope/types.ts';
import { outcomeItemKey } from '#lib/idempotency/token.ts';
import type { LedgerEntry, NewEntryState, OutboxLedger, WaiterLedger } from '#lib/ledger/port.ts';
import { evaluateNotify } from '#lib/mapping/notify.ts';
import { type Effect, publishEffect } from '#lib/outcomes/effects.ts';
import { buildOutcome, type NotifySpec, wants } from '#lib/outcomes/outcome.ts';
import type { FailureClass } from '#lib/retry/failure-record.ts';
import type { CompiledRule } from '#lib/rules/compile.ts';

/** The outbox and the waiters, as ingest uses them; absent in a deployment without outcomes. */
export interface IngestOutcomes {
  outbox: Pick<OutboxLedger, 'putEffects' | 'pendingEffects'>;
  waiters: Pick<WaiterLedger, 'putWaiter' | 'removeWaiter'>;
  /** Performs effects now (publishes); what fails is left for the contact events sweep. */
  drain(key: string, effects: readonly Effect[]): Promise<unknown>;
}

/** What a new entry starts with: its rule's outcome wishes, the task.created outcome, the first check. */
export function newEntryState(
  entry: LedgerEntry,
  notify: NotifySpec | undefined,
  now: number,
): NewEntryState {
  const effects = wants(notify, 'task.created')
    ? [
        publishEffect(
          buildOutcome('task.created', [entry.clientToken], entry.contactId, entry.createdAt, {
            event: { source: entry.source, id: entry.eventId, idempotencyKey: entry.idempotencyKey },
            ruleId: entry.ruleId,
            instanceId: entry.instanceId,
            contactId: entry.contactId,
            ...(notify?.data === undefined ? {} : { mapped: notify.data }),
          }),
        ),
      ]
    : [];
  return {
    ...(notify === undefined ? {} : { notify }),
    ...(effects.length > 0 ? { effects } : {}),
    checkAt: entry.createdAt + FIRST_CHECK_MS,
    now,
  };
}

/** A create rule's `notify`; undefined for other rules. */
const notifyOf = (compiled: CompiledRule | undefined) =>
  compiled?.rule.action === 'create' ? compiled.rule.notify : undefined;

/** The create rule whose `notify` speaks for a rejected event: its own, else its source's first asking. */
function rejectionRule(
  rule: CompiledRule | undefined,
  rules: readonly CompiledRule[],
): CompiledRule | undefined {
  if (notifyOf(rule) !== undefined) return rule;
  return rules.find((r) => notifyOf(r)?.outcomes.includes('task.rejected'));
}

export interface Rejection {
  envelope: Envelope;
  rule: CompiledRule | undefined;
  /** The source's rules, for an event no create rule took. */
  rules: readonly CompiledRule[];
  failure: { class: FailureClass; code: string; reason: string };
  dlqMessageId: string | undefined;
  instanceId?: string;
  clientToken?: string;
  now: number;
}

/** Records and publishes the task.rejected outcome of a parked event, when its publisher wants it. */
export async function recordRejection(outcomes: IngestOutcomes, r: Rejection): Promise<boolean> {
  const asking = rejectionRule(r.rule, r.rules);
  if (!notifyOf(asking)?.outcomes.includes('task.rejected')) return false;
  // The rule's data, when it maps over this event (the failure may be the mapping itself).
  const notify = asking && (await evaluateNotify(asking, r.envelope).catch(() => undefined));
  const { source, id } = r.envelope;
  const outcome = buildOutcome(
    'task.rejected',
    [source, id, r.failure.class, r.failure.code],
    `${source}/${id}`,
    r.now,
    {
      event: { source, id },
      ...(asking ? { ruleId: asking.rule.ruleId } : {}),
      ...(r.instanceId === undefined ? {} : { instanceId: r.instanceId }),
      failure: { ...r.failure, ...(r.dlqMessageId === undefined ? {} : { dlqMessageId: r.dlqMessageId }) },
      ...(notify?.data === undefined ? {} : { mapped: notify.data }),
    },
  );
  const key = outcomeItemKey(outcome.id);
  const effect = publishEffect(outcome);
  // The first recorded rejection of the event wins (a redelivered copy parks again, under another DLQ
  // message id): what is performed is what the item holds, nothing once it was published.
  const wrote = await outcomes.outbox.putEffects(key, [effect], r.now);
  const pending = wrote ? [effect] : await outcomes.outbox.pendingEffects(key);
  if (pending.length > 0) await outcomes.drain(key, pending);
  return true;
}
