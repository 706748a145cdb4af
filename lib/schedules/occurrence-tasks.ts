/**
 * Which task an occurrence of a task schedule made, looked up the way ingest recorded it: the
 * occurrence's message (as Scheduler renders it) → envelope → the first matching rule of its source
 * → idempotency key → `taskClientToken(instanceId, source, key)` → the ledger entry.
 */
import { parseEnvelope } from '#lib/envelope/parse.ts';
import { taskClientToken } from '#lib/idempotency/token.ts';
import type { LedgerStore, StoredLedgerEntry } from '#lib/ledger/port.ts';
import { evaluateIdempotencyKey } from '#lib/mapping/map.ts';
import { type CompiledRule, compileRule, selectRule, validateRule } from '#lib/rules/compile.ts';
import type { RuleStore } from '#lib/rules/store.ts';
import { renderOccurrence, type TaskSchedule } from '#lib/schedules/declaration.ts';
import { formatScheduledTime } from '#lib/schedules/expression.ts';

export type OccurrenceTask =
  | { scheduledTime: string; status: 'task'; clientToken: string; entry: StoredLedgerEntry }
  | { scheduledTime: string; status: 'none'; clientToken: string }
  | { scheduledTime: string; status: 'no-rule' | 'drop'; reason: string };

export interface OccurrenceTaskLookup {
  ruleStore: RuleStore;
  ledger: Pick<LedgerStore, 'get'>;
  /**
   * The time in epoch ms that `$now()` and `$millis()` return in the rules.
   * @default Date.now
   */
  now?: () => number;
}

/** Looks up the task of each occurrence (epoch ms); the rules of the schedule's source are read once. */
export async function occurrenceTasks(
  schedule: TaskSchedule,
  occurrences: readonly number[],
  lookup: OccurrenceTaskLookup,
): Promise<OccurrenceTask[]> {
  const compiled: CompiledRule[] = [];
  for (const record of await lookup.ruleStore.list(schedule.event.source)) {
    const result = validateRule(record.document);
    if (result.ok) compiled.push(compileRule(result.rule, { now: lookup.now }));
  }
  const out: OccurrenceTask[] = [];
  for (const ms of occurrences) {
    const scheduledTime = formatScheduledTime(ms);
    const envelope = parseEnvelope({
      body: renderOccurrence(schedule, ms),
      messageId: 'occurrence',
      attributes: {},
    });
    const rule = await selectRule(compiled, envelope);
    if (!rule) {
      out.push({
        scheduledTime,
        status: 'no-rule',
        reason: `no enabled rule of ${schedule.event.source} matches`,
      });
      continue;
    }
    if (rule.rule.action !== 'create') {
      out.push({
        scheduledTime,
        status: 'drop',
        reason: `rule ${rule.rule.ruleId} is a ${rule.rule.action} rule`,
      });
      continue;
    }
    const key = await evaluateIdempotencyKey(rule, envelope);
    const clientToken = taskClientToken(rule.rule.instanceId, envelope.source, key);
    const entry = await lookup.ledger.get(clientToken);
    out.push(
      entry
        ? { scheduledTime, status: 'task', clientToken, entry }
        : { scheduledTime, status: 'none', clientToken },
    );
  }
  return out;
}
